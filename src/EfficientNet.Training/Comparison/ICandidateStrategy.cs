using Microsoft.ML.EfficientNet.Data;

namespace EfficientNet.Training.Comparison;

/// <summary>
/// How one kind of candidate becomes a measured model: the comparison's trial runner, one per
/// <see cref="ComparisonStrategy"/>. The experiment owns the order, the budget, the saved results and the progress; a
/// strategy only trains, exports and measures the candidate it is handed.
/// </summary>
internal interface ICandidateStrategy
{
    /// <summary>Trains the candidate, exports it and measures it on the held-out set.</summary>
    /// <param name="trial">The candidate, its folder, data and time limit.</param>
    /// <param name="cancellationToken">Stops training at its next step.</param>
    /// <returns>The measured result, or a failed or cancelled one saying why.</returns>
    CandidateResult Run(CandidateTrial trial, CancellationToken cancellationToken);

    /// <summary>What this strategy's settings contribute to a candidate's fingerprint (<see cref="ComparisonResultCache"/>).</summary>
    /// <param name="candidate">The candidate.</param>
    /// <param name="imageSize">The side it trains and scores at.</param>
    StrategyFingerprint Fingerprint(ComparisonCandidate candidate, int imageSize);

    /// <summary>Why candidates of this strategy would stay at chance, for the recommendation's sentence.</summary>
    /// <param name="trainImages">Images in the training split.</param>
    string ChanceCause(int trainImages);
}

/// <summary>One candidate's run: what a strategy is handed.</summary>
/// <param name="Index">Zero-based position of the candidate in the comparison.</param>
/// <param name="Candidate">The candidate.</param>
/// <param name="Blank">Its result before anything runs: name, size, parameters and MACs, status <see cref="CandidateStatus.Skipped"/>.</param>
/// <param name="Folder">The candidate's folder.</param>
/// <param name="Train">Images it learns from.</param>
/// <param name="HeldOut">Images it is measured on.</param>
/// <param name="Limit">Wall-clock time it may train for; null: no limit.</param>
internal sealed record CandidateTrial(int Index, ComparisonCandidate Candidate, CandidateResult Blank, string Folder, LabeledImageSet Train, LabeledImageSet HeldOut, TimeSpan? Limit);

/// <summary>A strategy's part of a fingerprint.</summary>
/// <param name="InitialWeights">The weights training starts from (a full path, <c>pretrained</c>), or null.</param>
/// <param name="Epochs">Epochs trained; 0 when the strategy does not train the network.</param>
/// <param name="Training">The training options that change the numbers, or null.</param>
internal sealed record StrategyFingerprint(string? InitialWeights, int Epochs, object? Training);
