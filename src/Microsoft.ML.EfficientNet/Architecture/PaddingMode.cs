namespace Microsoft.ML.EfficientNet.Architecture;

/// <summary>How convolutions pad their input. Both give the same output size; they differ in where the zeros go.</summary>
internal enum PaddingMode
{
    /// <summary>(k − 1)/2 zeros on every side, as torchvision and timm's <c>efficientnet_bN</c> weights were trained.</summary>
    Symmetric,

    /// <summary>
    /// TensorFlow's "SAME": output = ⌈input/stride⌉ with the odd pixel of padding after, not before. The weights ported
    /// from TensorFlow (lukemelas, timm <c>tf_efficientnet_bN</c>) need it. It differs from symmetric padding only in
    /// stride-2 convolutions whose input side is even.
    /// </summary>
    TensorFlowSame,
}

/// <summary>Padding arithmetic shared by the TorchSharp model, the ONNX writer and the MAC count.</summary>
internal static class ConvPadding
{
    /// <summary>Zeros before and after the input along one axis.</summary>
    /// <param name="mode">The padding rule.</param>
    /// <param name="inputSize">Input length along the axis, in pixels.</param>
    /// <param name="kernelSize">Kernel length along the axis (odd).</param>
    /// <param name="stride">Stride along the axis.</param>
    /// <returns>(before, after) in pixels.</returns>
    public static (int Before, int After) Compute(PaddingMode mode, int inputSize, int kernelSize, int stride)
    {
        if (mode == PaddingMode.Symmetric)
        {
            int half = (kernelSize - 1) / 2;
            return (half, half);
        }
        int output = (inputSize + stride - 1) / stride;
        int total = Math.Max((output - 1) * stride + kernelSize - inputSize, 0);
        return (total / 2, total - total / 2);
    }

    /// <summary>Output length along one axis: ⌊(input + before + after − kernel)/stride⌋ + 1.</summary>
    /// <param name="mode">The padding rule.</param>
    /// <param name="inputSize">Input length along the axis, in pixels.</param>
    /// <param name="kernelSize">Kernel length along the axis.</param>
    /// <param name="stride">Stride along the axis.</param>
    public static int OutputSize(PaddingMode mode, int inputSize, int kernelSize, int stride)
    {
        var (before, after) = Compute(mode, inputSize, kernelSize, stride);
        return (inputSize + before + after - kernelSize) / stride + 1;
    }
}
