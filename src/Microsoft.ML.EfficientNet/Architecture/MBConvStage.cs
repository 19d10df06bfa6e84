namespace Microsoft.ML.EfficientNet.Architecture;

/// <summary>The two block kinds of the EfficientNet families.</summary>
internal enum MBConvKind
{
    /// <summary>Mobile inverted bottleneck: [expand 1×1] → depthwise k×k → squeeze-excitation → project 1×1 (B0–B7, V2's later stages).</summary>
    MBConv,

    /// <summary>
    /// Fused-MBConv (EfficientNetV2): expand k×k (carrying the stride) → project 1×1, or a single k×k convolution when the
    /// expand ratio is 1; no depthwise convolution and no squeeze-excitation.
    /// </summary>
    FusedMBConv,
}

/// <summary>
/// One stage of mobile inverted bottleneck blocks: a row of Table 1 of the EfficientNet paper (arXiv 1905.11946), or of
/// Table 4 of the EfficientNetV2 paper (arXiv 2104.00298), given at the baseline width and depth. Scaling to other
/// variants happens in <see cref="EfficientNetSpec"/>.
/// </summary>
/// <param name="ExpandRatio">Expansion of the block input by the expand convolution (1 = no expand convolution).</param>
/// <param name="KernelSize">Side of the square depthwise (MBConv) or fused expand (Fused-MBConv) kernel, in pixels.</param>
/// <param name="Stride">Stride of the first block of the stage; later blocks use stride 1.</param>
/// <param name="InputChannels">Input channels of the stage's first block at width 1.0.</param>
/// <param name="OutputChannels">Output channels of every block of the stage at width 1.0.</param>
/// <param name="Repeats">Number of blocks at depth 1.0.</param>
/// <param name="SqueezeRatio">Squeeze-and-excitation width as a fraction of the block's input channels (0 for Fused-MBConv and Lite, which have none).</param>
/// <param name="Kind">The block kind; MBConv unless given.</param>
internal sealed record MBConvStage(
    int ExpandRatio, int KernelSize, int Stride, int InputChannels, int OutputChannels, int Repeats, double SqueezeRatio,
    MBConvKind Kind = MBConvKind.MBConv);
