namespace Microsoft.ML.EfficientNet.Architecture;

/// <summary>
/// One stage of mobile inverted bottleneck blocks: a row of Table 1 of the EfficientNet paper (arXiv 1905.11946),
/// given at the baseline (B0) width and depth. Scaling to other variants happens in <see cref="EfficientNetSpec"/>.
/// </summary>
/// <param name="ExpandRatio">Expansion of the block input by the 1×1 expand convolution (1 = no expand convolution).</param>
/// <param name="KernelSize">Side of the square depthwise kernel, in pixels (3 or 5 in EfficientNet).</param>
/// <param name="Stride">Stride of the first block of the stage; later blocks use stride 1.</param>
/// <param name="InputChannels">Input channels of the stage's first block at width 1.0.</param>
/// <param name="OutputChannels">Output channels of every block of the stage at width 1.0.</param>
/// <param name="Repeats">Number of blocks at depth 1.0.</param>
/// <param name="SqueezeRatio">Squeeze-and-excitation width as a fraction of the block's input channels.</param>
public sealed record MBConvStage(
    int ExpandRatio, int KernelSize, int Stride, int InputChannels, int OutputChannels, int Repeats, double SqueezeRatio);
