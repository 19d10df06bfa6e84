namespace Microsoft.ML.EfficientNet.Architecture;

/// <summary>
/// The EfficientNet-B0 baseline found by architecture search (paper, Table 1): the only place the network's
/// layout is written down. Every variant, module, parameter count, ONNX graph and key map is derived from it.
/// </summary>
internal static class EfficientNetBaseline
{
    /// <summary>Channels of the 3×3 stride-2 stem convolution at width 1.0.</summary>
    public const int StemChannels = 32;

    /// <summary>Stride of the stem convolution.</summary>
    public const int StemStride = 2;

    /// <summary>Kernel side of the stem convolution, in pixels.</summary>
    public const int StemKernelSize = 3;

    /// <summary>Channels of the 1×1 head convolution at width 1.0 (the pooled feature width of B0).</summary>
    public const int HeadChannels = 1280;

    /// <summary>Input image channels (RGB).</summary>
    public const int ImageChannels = 3;

    /// <summary>Drop probability of the last block under stochastic depth; block i of N drops with rate·i/N.</summary>
    public const double StochasticDepthRate = 0.2;

    /// <summary>Channel counts are rounded to multiples of this divisor (<see cref="CompoundScaling.RoundFilters"/>).</summary>
    public const int ChannelDivisor = 8;

    /// <summary>
    /// The seven MBConv stages of B0 (paper, Table 1, rows 2–8). The stem (row 1) and the head (row 9) are the constants above.
    /// </summary>
    public static IReadOnlyList<MBConvStage> Stages { get; } =
    [
        //  expand kernel stride  in   out  repeats  SE
        new(1,     3,     1,      32,  16,  1,       0.25),
        new(6,     3,     2,      16,  24,  2,       0.25),
        new(6,     5,     2,      24,  40,  2,       0.25),
        new(6,     3,     2,      40,  80,  3,       0.25),
        new(6,     5,     1,      80,  112, 3,       0.25),
        new(6,     5,     2,      112, 192, 4,       0.25),
        new(6,     3,     1,      192, 320, 1,       0.25),
    ];
}
