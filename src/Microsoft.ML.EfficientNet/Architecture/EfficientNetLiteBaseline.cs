namespace Microsoft.ML.EfficientNet.Architecture;

/// <summary>The activation after each convolution unit (and inside squeeze-and-excitation).</summary>
internal enum ActivationKind
{
    /// <summary>x·σ(x) (swish): B0–B7 and V2.</summary>
    SiLU,

    /// <summary>min(max(x, 0), 6): EfficientNet-Lite, whose activations stay in a range integer kernels represent well.</summary>
    ReLU6,
}

/// <summary>
/// EfficientNet-Lite (Google's EfficientNet-Lite0–4; timm's <c>_gen_efficientnet_lite</c>): the B0 layout made for integer
/// CPUs and accelerators. Three changes against the B series, each because the integer kernels of mobile runtimes
/// handle it badly: no squeeze-and-excitation (a global pool per block), ReLU6 instead of SiLU (a bounded range that
/// 8 bits represent well), and the stem (32) and head (1280) not scaled with width, nor the first and last stages with
/// depth (they dominate latency on small devices).
/// </summary>
internal static class EfficientNetLiteBaseline
{
    /// <summary>B0's seven stages (<see cref="EfficientNetBaseline.Stages"/>) without squeeze-and-excitation.</summary>
    public static IReadOnlyList<MBConvStage> Stages { get; } = EfficientNetBaseline.Stages.Select(s => s with { SqueezeRatio = 0 }).ToArray();

    /// <summary>
    /// A Lite variant: Google's (width, depth, resolution, dropout) for efficientnet-lite0 … lite4.
    /// </summary>
    public static EfficientNetVariant Variant(string name, double width, double depth, int resolution, double dropout) =>
        new(name, width, depth, resolution, dropout)
        {
            Stages = Stages,
            Activation = ActivationKind.ReLU6,
            ScalesStemAndHead = false,
            ScalesFirstAndLastStages = false,
        };
}
