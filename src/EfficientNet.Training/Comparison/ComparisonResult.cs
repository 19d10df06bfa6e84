using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Evaluation;

namespace EfficientNet.Training.Comparison;

/// <summary>How a candidate's run ended.</summary>
public enum CandidateStatus
{
    /// <summary>Trained and measured.</summary>
    Succeeded,

    /// <summary>An error stopped it (out of memory, missing weights, no epoch within the time limit …): see <see cref="CandidateResult.Error"/>.</summary>
    Failed,

    /// <summary>Not started: the total time budget was spent, or the comparison was cancelled before it.</summary>
    Skipped,

    /// <summary>Cancelled by the caller while it trained; its checkpoint resumes it next time.</summary>
    Cancelled,
}

/// <summary>
/// What was measured for one candidate, all on the same held-out split and this machine. Numbers that could not be
/// measured (a failed candidate) are NaN; parameters and MACs come from the architecture and are always set.
/// </summary>
public sealed record CandidateResult
{
    /// <summary>The candidate's name (its folder under the output directory).</summary>
    public required string Name { get; init; }

    /// <summary>The network.</summary>
    public required EfficientNetVariant Variant { get; init; }

    /// <summary>How it learned.</summary>
    public required ComparisonStrategy Strategy { get; init; }

    /// <summary>How the run ended.</summary>
    public required CandidateStatus Status { get; init; }

    /// <summary>Why it failed or was skipped; null on success.</summary>
    public string? Error { get; init; }

    /// <summary>Input side used, in pixels.</summary>
    public required int ImageSize { get; init; }

    /// <summary>Classes of the data.</summary>
    public required int Classes { get; init; }

    /// <summary>Held-out top-1 accuracy, in percent.</summary>
    public double Accuracy { get; init; } = double.NaN;

    /// <summary>Held-out macro-averaged F1, in [0, 1].</summary>
    public double MacroF1 { get; init; } = double.NaN;

    /// <summary>Held-out top-5 accuracy in percent; NaN with five classes or fewer (where it is always 100).</summary>
    public double Top5 { get; init; } = double.NaN;

    /// <summary>
    /// Counts of [true class, predicted class] on the held-out split; null when the candidate was not measured. Setting
    /// it sets <see cref="Chance"/>.
    /// </summary>
    public long[,]? Confusion
    {
        get => _confusion;
        init
        {
            _confusion = value;
            Chance = value is null ? null : ChanceAssessment.FromConfusion(value);
        }
    }

    private readonly long[,]? _confusion;

    /// <summary>
    /// The held-out accuracy judged against chance: its 95 % Wilson interval, the majority-class rate of the held-out
    /// split, and the images it was measured on. Null when the candidate was not measured.
    /// </summary>
    public ChanceAssessment? Chance { get; private init; }

    /// <summary>Lower end of the 95 % interval of <see cref="Accuracy"/>, in percent; NaN when not measured.</summary>
    public double AccuracyLow => Chance is { Count: > 0 } a ? a.Low * 100 : double.NaN;

    /// <summary>Upper end of the 95 % interval of <see cref="Accuracy"/>, in percent; NaN when not measured.</summary>
    public double AccuracyHigh => Chance is { Count: > 0 } a ? a.High * 100 : double.NaN;

    /// <summary>The held-out split's majority-class rate (the accuracy of always answering its most frequent class), in percent; NaN when not measured.</summary>
    public double ChanceAccuracy => Chance is { Count: > 0 } a ? a.ChanceAccuracy * 100 : double.NaN;

    /// <summary>Learnable parameters of the model as trained (classifier for <see cref="Classes"/> outputs).</summary>
    public required long Parameters { get; init; }

    /// <summary>Multiply-accumulates of one image at <see cref="ImageSize"/>.</summary>
    public required long Macs { get; init; }

    /// <summary>Size of the exported ONNX model, in bytes (0 when none was written).</summary>
    public long OnnxBytes { get; init; }

    /// <summary>Median batch-1 latency through the featurizer's batched path, in milliseconds.</summary>
    public double LatencyMilliseconds { get; init; } = double.NaN;

    /// <summary>95th-percentile batch-1 latency, in milliseconds.</summary>
    public double LatencyP95Milliseconds { get; init; } = double.NaN;

    /// <summary>Images per second through the featurizer's batched path at its default batch size and concurrency.</summary>
    public double Throughput { get; init; } = double.NaN;

    /// <summary>Wall time of training (features strategy: featurizing the training split and fitting the classifier), in seconds.</summary>
    public double TrainSeconds { get; init; } = double.NaN;

    /// <summary>
    /// Largest resident memory of the process while this candidate ran, in MiB: the maximum of VmRSS sampled every
    /// 50 ms, or the kernel's high-water mark VmHWM when this candidate raised it. The process's earlier peak cannot be
    /// reset, so a candidate that never exceeds it reports its sampled maximum.
    /// </summary>
    public double PeakMemoryMegabytes { get; init; } = double.NaN;

    /// <summary>Epochs completed (fine-tune strategy; 0 for features).</summary>
    public int Epochs { get; init; }

    /// <summary>True when the time limit stopped training before its last epoch.</summary>
    public bool TimeLimited { get; init; }

    /// <summary>The exported ONNX model (logits and features, preprocessing and labels inside), or null.</summary>
    public string? ModelPath { get; init; }

    /// <summary>When the candidate finished (UTC); a reused result keeps the time it was first measured.</summary>
    public DateTime FinishedUtc { get; init; }

    /// <summary>True when this result was read back from an earlier run with the same settings, not retrained.</summary>
    public bool Reused { get; init; }

    /// <summary>Scaling study: <c>width</c>, <c>depth</c>, <c>resolution</c> or <c>compound</c>; null otherwise.</summary>
    public string? ScalingDimension { get; init; }

    /// <summary>Scaling study: MAC budget as a multiple of the baseline's.</summary>
    public double? ScalingFactor { get; init; }

    /// <summary>The ranking metric's value: accuracy in percent or macro-F1 in percent.</summary>
    /// <param name="metric">The metric.</param>
    public double Score(ComparisonMetric metric) => metric == ComparisonMetric.MacroF1 ? MacroF1 * 100 : Accuracy;
}

/// <summary>The outcome of a comparison: every candidate's result and the recommended one.</summary>
public sealed record ComparisonResult
{
    /// <summary>Every candidate, in the order they were given.</summary>
    public required IReadOnlyList<CandidateResult> Candidates { get; init; }

    /// <summary>
    /// The recommended candidate (<see cref="ComparisonRecommendation.Choose"/>), or null when none finished, none learned
    /// beyond chance or none meets the constraints.
    /// </summary>
    public CandidateResult? Recommended { get; init; }

    /// <summary>A sentence saying why <see cref="Recommended"/> was chosen, or why no candidate was.</summary>
    public required string Recommendation { get; init; }

    /// <summary>What each candidate violates (empty list: meets every constraint; failed candidates have a reason).</summary>
    public required IReadOnlyDictionary<string, IReadOnlyList<string>> Violations { get; init; }

    /// <summary>The constraints applied.</summary>
    internal ComparisonConstraints Constraints { get; init; } = new();

    /// <summary>The ranking metric.</summary>
    public required ComparisonMetric Metric { get; init; }

    /// <summary>Training images (after the held-out split).</summary>
    public required int TrainImages { get; init; }

    /// <summary>Held-out images every candidate was measured on.</summary>
    public required int HeldOutImages { get; init; }

    /// <summary>Class names.</summary>
    public required IReadOnlyList<string> ClassNames { get; init; }

    /// <summary>The folder holding every candidate's results.</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>True when the candidate succeeded and meets every constraint.</summary>
    /// <param name="candidate">One of <see cref="Candidates"/>.</param>
    public bool MeetsConstraints(CandidateResult candidate) =>
        candidate.Status == CandidateStatus.Succeeded && Violations.TryGetValue(candidate.Name, out var v) && v.Count == 0;

    /// <summary>
    /// The line a person reads first: <c>Recommended: b1 (accuracy 91.2 %, 95 % interval …): …</c>, or
    /// <c>Recommended: none — …</c> with the reason (for example no candidate learned beyond chance).
    /// </summary>
    public string RecommendedLine => ComparisonReport.RecommendedLine(this);

    /// <summary>
    /// Writes the report into <paramref name="directory"/>: <c>results.json</c> and <c>results.csv</c> (one row per
    /// candidate), the PNG plots (accuracy with its interval against latency, parameters and MACs) and <c>report.html</c>.
    /// </summary>
    /// <param name="directory">Target folder (created when missing); default <see cref="OutputDirectory"/>.</param>
    /// <returns>The files written.</returns>
    public IReadOnlyList<string> WriteReport(string? directory = null)
    {
        var files = ComparisonReport.Write(this, directory ?? OutputDirectory);
        return [files.Json, files.Csv, .. files.Plots, files.Html];
    }
}

/// <summary>What a comparison is doing, reported through <see cref="EfficientNetComparisonSettings.Progress"/>.</summary>
internal enum ComparisonPhase
{
    /// <summary>A candidate starts.</summary>
    Starting,

    /// <summary>A candidate trains (reported after every step).</summary>
    Training,

    /// <summary>A candidate is measured (accuracy, latency, throughput).</summary>
    Measuring,

    /// <summary>A candidate finished (succeeded, failed or skipped).</summary>
    Finished,

    /// <summary>A candidate's saved result was reused.</summary>
    Reused,
}

/// <summary>Progress of a comparison.</summary>
/// <param name="Index">Zero-based index of the candidate.</param>
/// <param name="Count">Candidates in the comparison.</param>
/// <param name="Candidate">The candidate's name.</param>
/// <param name="Phase">What it is doing.</param>
/// <param name="Fraction">How much of this candidate's training is done, in [0, 1].</param>
/// <param name="Remaining">Estimated time to the end of this candidate's training, when known.</param>
/// <param name="Result">The result, in <see cref="ComparisonPhase.Finished"/> and <see cref="ComparisonPhase.Reused"/>.</param>
internal sealed record ComparisonProgress(int Index, int Count, string Candidate, ComparisonPhase Phase, double Fraction, TimeSpan? Remaining, CandidateResult? Result);
