using EfficientNet.Cli.Bench.Measuring;

namespace EfficientNet.Cli.Bench.Reporting;

/// <summary>One measured row of the main table.</summary>
/// <param name="Group">What is measured: featurizer, plain chain, raw ONNX Runtime, DnnFeaturizeImage, preprocessing.</param>
/// <param name="Setting">The configuration.</param>
/// <param name="ImagesPerSecond">Best pass's images per second.</param>
/// <param name="Best">Whether this is its group's best configuration.</param>
internal sealed record Row(string Group, string Setting, double ImagesPerSecond, bool Best)
{
    /// <summary>Milliseconds of wall clock per image.</summary>
    public double MillisecondsPerImage => 1000 / ImagesPerSecond;
}

/// <summary>One row of the per-variant table.</summary>
internal sealed record VariantRow(string Variant, int Resolution, double ImagesPerSecond, double LatencyP50Ms, double LatencyP95Ms, double ModelMB, double PeakRssMB);

/// <summary>
/// A ratio of one best (default the fp32 featurizer's) to a peer's best, with its target from
/// <see cref="Targets.PeerTargets.TargetsAgainstThePeersBest"/> when it has one.
/// </summary>
internal sealed record Ratio(string Against, double Value, double? Target, string Of = "featurizer fp32 (best)")
{
    /// <summary>Whether the target is met (null when there is none).</summary>
    public bool? Met => Target is { } t ? Value >= t : null;
}

/// <summary>Where the CPU time of one image goes, each on one thread.</summary>
/// <param name="PreprocessingMs">Decode + resize + pixel extraction per image, one thread.</param>
/// <param name="InferenceMs">Inference per image, one intra-op thread, batch 8.</param>
/// <param name="Cores">Cores the ceiling assumes.</param>
/// <param name="DecodeMs">Of the preprocessing: <c>LoadImages</c> alone.</param>
/// <param name="ResizeMs">Of the preprocessing: what <c>ResizeImages</c> adds.</param>
/// <param name="ExtractMs">Of the preprocessing: what <c>ExtractPixels</c> and the copy into the batch add.</param>
internal sealed record TimeSplit(double PreprocessingMs, double InferenceMs, int Cores, double DecodeMs = 0, double ResizeMs = 0, double ExtractMs = 0)
{
    /// <summary>Images per second if preprocessing and inference shared the cores with no loss.</summary>
    public double CeilingImagesPerSecond => Cores * 1000 / (PreprocessingMs + InferenceMs);
}

/// <summary>Kernel time of one operator type in one model (fp32 or int8), one thread, per batch.</summary>
internal sealed record KernelRow(string Model, string Operator, double MillisecondsPerBatch);

/// <summary>Everything one run of <c>efficientnet bench</c> measured: what its console tables, its markdown section and its JSON file show.</summary>
internal sealed record BenchReport(string Command, Dictionary<string, string> Machine, string Variant, int Resolution, int Images, string ImageSource, int Runs,
    List<Row> Rows, List<Ratio> Ratios, TimeSplit Split, FeaturizerStartup Startup, List<VariantRow> Variants, List<string> Notes, List<KernelRow> Kernels, int KernelBatch);
