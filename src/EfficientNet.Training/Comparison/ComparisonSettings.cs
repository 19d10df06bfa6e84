using EfficientNet.Training.Training;
using Microsoft.Extensions.Logging;
using Microsoft.ML.EfficientNet.Architecture;

namespace EfficientNet.Training.Comparison;

/// <summary>How each candidate of a comparison learns the user's classes.</summary>
public enum ComparisonStrategy
{
    /// <summary>
    /// Pooled features from <c>EfficientNetFeaturizer</c> (pretrained or given weights, frozen), then an ML.NET
    /// maximum-entropy classifier on them: minutes on a CPU. The classifier becomes the model's head, so the exported
    /// ONNX model is the whole network.
    /// </summary>
    Features,

    /// <summary>
    /// The TorchSharp trainer (<see cref="EfficientNetTrainer"/>), one run per candidate, starting from the variant's
    /// published ImageNet weights (cache, then download) unless <see cref="EfficientNetComparisonSettings.FromScratch"/> is
    /// set or the candidate has its own weights.
    /// </summary>
    FineTune,
}

/// <summary>Which held-out metric ranks the candidates and picks the recommended one.</summary>
public enum ComparisonMetric
{
    /// <summary>Top-1 accuracy.</summary>
    Accuracy,

    /// <summary>Macro-averaged F1 (every class counts the same, whatever its size).</summary>
    MacroF1,
}

/// <summary>The ML.NET trainer the <see cref="ComparisonStrategy.Features"/> strategy fits on the features.</summary>
public enum FeatureClassifier
{
    /// <summary><c>LbfgsMaximumEntropy</c>: deterministic, needs no feature normalisation.</summary>
    LbfgsMaximumEntropy,

    /// <summary><c>SdcaMaximumEntropy</c>.</summary>
    SdcaMaximumEntropy,
}

/// <summary>
/// One network to compare: a variant (B0–B7, <see cref="EfficientNetVariant.FromPhi"/> or
/// <see cref="EfficientNetVariant.Custom"/>), optionally with its own input size and weights.
/// </summary>
/// <param name="Variant">The network.</param>
public sealed record ComparisonCandidate(EfficientNetVariant Variant)
{
    /// <summary>Name in tables, plots and the output folder (<c>DIR/&lt;name&gt;/</c>). Default: the variant's name.</summary>
    public string Name { get; init; } = Variant.Name;

    /// <summary>Input side in pixels for this candidate. Default null: <see cref="EfficientNetComparisonSettings.ImageSize"/>, else the variant's resolution.</summary>
    public int? ImageSize { get; init; }

    /// <summary>
    /// Starting weights: a checkpoint (<c>.pth</c>, <c>.safetensors</c>) in any supported format. Default null:
    /// torchvision's published weights through the cache; for <see cref="ComparisonStrategy.FineTune"/> none when
    /// <see cref="EfficientNetComparisonSettings.FromScratch"/> is set, for <see cref="ComparisonStrategy.Features"/> random
    /// ones when <see cref="EfficientNetComparisonSettings.UseRandomWeights"/> is set.
    /// </summary>
    public string? WeightsPath { get; init; }

    /// <summary>For scaling-study candidates: <c>width</c>, <c>depth</c>, <c>resolution</c> or <c>compound</c>; null otherwise.</summary>
    public string? ScalingDimension { get; init; }

    /// <summary>For scaling-study candidates: the MAC budget as a multiple of the baseline's (1 for the baseline itself).</summary>
    public double? ScalingFactor { get; init; }

    /// <summary>A candidate of the variant with default settings.</summary>
    /// <param name="variant">The network.</param>
    public static implicit operator ComparisonCandidate(EfficientNetVariant variant) => new(variant);
}

/// <summary>Limits a recommended candidate must meet; null means no limit.</summary>
internal sealed class ComparisonConstraints
{
    /// <summary>Largest acceptable median latency at batch 1, in milliseconds. Default null.</summary>
    public double? MaxLatencyMilliseconds { get; set; }

    /// <summary>Largest acceptable parameter count (of the model as trained, with the data's classes). Default null.</summary>
    public long? MaxParameters { get; set; }

    /// <summary>Largest acceptable ONNX file, in megabytes (10⁶ bytes). Default null.</summary>
    public double? MaxModelMegabytes { get; set; }

    /// <summary>Smallest acceptable held-out accuracy, in percent (0–100). Default null.</summary>
    public double? MinAccuracy { get; set; }

    /// <summary>True when no limit is set.</summary>
    public bool IsEmpty => MaxLatencyMilliseconds is null && MaxParameters is null && MaxModelMegabytes is null && MinAccuracy is null;
}

/// <summary>
/// Settings of an <see cref="EfficientNetComparisonExperiment"/>: which candidates, how they learn, under which budget,
/// what the recommended one must meet, and where results go. Every property documents its default.
/// </summary>
public sealed class EfficientNetComparisonSettings
{
    /// <summary>Default values.</summary>
    internal static class Defaults
    {
        /// <summary>Passes over the training split per candidate.</summary>
        public const int Epochs = 5;

        /// <summary>Share of each class held out for measuring every candidate.</summary>
        public const double HoldOutFraction = 0.2;

        /// <summary>Untimed runs before latency is measured.</summary>
        public const int LatencyWarmupRuns = 3;

        /// <summary>Timed batch-1 runs; p50 and p95 are taken over them.</summary>
        public const int LatencyRuns = 20;

        /// <summary>Images scored (after one untimed pass) to measure throughput.</summary>
        public const int ThroughputImages = 64;
    }

    /// <summary>The networks to compare, in order. Default: none (at least one is needed).</summary>
    public IList<ComparisonCandidate> Candidates { get; set; } = [];

    /// <summary>How candidates learn. Default <see cref="ComparisonStrategy.FineTune"/>.</summary>
    public ComparisonStrategy Strategy { get; set; } = ComparisonStrategy.FineTune;

    /// <summary>Epochs per candidate for <see cref="ComparisonStrategy.FineTune"/> (the schedule's length). Default 5.</summary>
    public int Epochs { get; set; } = Defaults.Epochs;

    /// <summary>
    /// Wall-clock limit per candidate's training. When it passes, training stops at the next step and the candidate is
    /// measured with the weights of its last finished epoch (none finished: the candidate fails, saying so). Default
    /// null: no limit.
    /// </summary>
    public TimeSpan? TimePerCandidate { get; set; }

    /// <summary>
    /// Wall-clock limit for all candidates' training together: each candidate gets at most what is left, and candidates
    /// left without time are skipped (status <see cref="CandidateStatus.Skipped"/>). Default null: no limit.
    /// </summary>
    public TimeSpan? TotalTime { get; set; }

    /// <summary>Input side in pixels for every candidate without its own. Default null: each variant's resolution (224 for B0 …).</summary>
    public int? ImageSize { get; set; }

    /// <summary>Limits the recommended candidate must meet, gathered from the four properties below.</summary>
    internal ComparisonConstraints Constraints { get; set; } = new();

    /// <summary>Largest acceptable median latency at batch 1, in milliseconds, for the recommended candidate. Default null: no limit.</summary>
    public double? MaxLatencyMilliseconds { get => Constraints.MaxLatencyMilliseconds; set => Constraints.MaxLatencyMilliseconds = value; }

    /// <summary>Largest acceptable parameter count (of the model as trained, with the data's classes). Default null: no limit.</summary>
    public long? MaxParameters { get => Constraints.MaxParameters; set => Constraints.MaxParameters = value; }

    /// <summary>Largest acceptable ONNX file, in megabytes (10⁶ bytes). Default null: no limit.</summary>
    public double? MaxModelMegabytes { get => Constraints.MaxModelMegabytes; set => Constraints.MaxModelMegabytes = value; }

    /// <summary>Smallest acceptable held-out accuracy, in percent (0–100). Default null: no limit.</summary>
    public double? MinAccuracy { get => Constraints.MinAccuracy; set => Constraints.MinAccuracy = value; }

    /// <summary>The metric that ranks candidates. Default <see cref="ComparisonMetric.Accuracy"/>.</summary>
    public ComparisonMetric Metric { get; set; } = ComparisonMetric.Accuracy;

    /// <summary>Seed of the held-out split, of training and of random weights. Default 0.</summary>
    public int Seed { get; set; }

    /// <summary>Share of each class held out when <see cref="EfficientNetComparisonExperiment.Execute(Microsoft.ML.EfficientNet.Data.LabeledImageSet, CancellationToken)"/> splits the data. Default 0.2.</summary>
    public double HoldOutFraction { get; set; } = Defaults.HoldOutFraction;

    /// <summary>
    /// Folder of the results: <c>&lt;candidate&gt;/result.json</c> and its model for each candidate, and what
    /// <see cref="ComparisonReport.Write"/> writes. Default null: a new folder under the temp folder.
    /// </summary>
    public string? OutputDirectory { get; set; }

    /// <summary>
    /// Reuse a candidate's saved result when its settings and data are the same (a killed or extended comparison trains
    /// only what is missing), and resume an unfinished candidate's training from its checkpoint. Default true.
    /// </summary>
    public bool Resume { get; set; } = true;

    /// <summary>Features strategy: the classifier fitted on the features. Default <see cref="FeatureClassifier.LbfgsMaximumEntropy"/>.</summary>
    public FeatureClassifier FeatureClassifier { get; set; } = FeatureClassifier.LbfgsMaximumEntropy;

    /// <summary>
    /// Fine-tune strategy: train candidates without their own <see cref="ComparisonCandidate.WeightsPath"/> from their
    /// random initialisation instead of their published ImageNet weights. On a few hundred images this usually leaves a
    /// model at chance, which the recommendation then says. Needed for variants without published weights (custom,
    /// φ, the scaling study's). Default false.
    /// </summary>
    public bool FromScratch { get; set; }

    /// <summary>The folder of published weights (both strategies). Default null: <see cref="Microsoft.ML.EfficientNet.Weights.WeightCache.DefaultDirectory"/>.</summary>
    public string? CacheDirectory { get; set; }

    /// <summary>Features strategy: whether published weights missing from the cache may be downloaded. Default true.</summary>
    public bool AllowDownload { get; set; } = true;

    /// <summary>Features strategy: seeded random weights for candidates without <see cref="ComparisonCandidate.WeightsPath"/> (tests and demonstrations only). Default false.</summary>
    public bool UseRandomWeights { get; set; }

    /// <summary>
    /// Fine-tune strategy: adjusts each candidate's training options (learning rate, batch size, augmentation, recipe …)
    /// after the comparison has set variant, image size, epochs, seed, output folder, starting weights and cache folder. Default null.
    /// </summary>
    public Action<ComparisonCandidate, EfficientNetTrainingOptions>? ConfigureTraining { get; set; }

    /// <summary>Untimed batch-1 runs before the timed ones. Default 3.</summary>
    public int LatencyWarmupRuns { get; set; } = Defaults.LatencyWarmupRuns;

    /// <summary>Timed batch-1 runs. Default 20.</summary>
    public int LatencyRuns { get; set; } = Defaults.LatencyRuns;

    /// <summary>Images scored to measure throughput. Default 64.</summary>
    public int ThroughputImages { get; set; } = Defaults.ThroughputImages;

    /// <summary>libtorch threads during training. Default null: one per logical processor.</summary>
    public int? Threads { get; set; }

    /// <summary>Called as candidates start, progress and finish. Default null.</summary>
    internal Action<ComparisonProgress>? Progress { get; set; }

    /// <summary>Receives one line per candidate and the trainer's epoch lines. Default null.</summary>
    public ILogger? Logger { get; set; }
}
