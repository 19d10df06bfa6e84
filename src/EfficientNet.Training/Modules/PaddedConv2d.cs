using Microsoft.ML.EfficientNet.Architecture;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EfficientNet.Training.Modules;

/// <summary>
/// A 2-D convolution that pads either symmetrically or as TensorFlow's "SAME" (odd pixel after), computed from the
/// input size at each call, so TF-ported weights give TF's results at any resolution. Its tensors are named
/// <c>weight</c> and <c>bias</c>, as in <c>torch.nn.Conv2d</c>, so state-dict keys match PyTorch's.
/// </summary>
internal sealed class PaddedConv2d : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly Parameter? bias;
    private readonly long _stride;
    private readonly long _groups;
    private readonly int _kernelSize;
    private readonly PaddingMode _padding;

    /// <summary>Creates the convolution from its spec, initialised as torchvision initialises EfficientNet (<see cref="TorchvisionInit.ConvWeight"/>).</summary>
    /// <param name="spec">Channels, kernel, stride, groups and bias of the layer.</param>
    /// <param name="padding">The padding rule of the weights in use.</param>
    public PaddedConv2d(ConvSpec spec, PaddingMode padding) : base(nameof(PaddedConv2d))
    {
        ArgumentNullException.ThrowIfNull(spec);
        Spec = spec;
        _stride = spec.Stride;
        _groups = spec.Groups;
        _kernelSize = spec.KernelSize;
        _padding = padding;
        weight = new Parameter(empty(spec.WeightShape));
        Initialization.Apply(weight, TorchvisionInit.ConvWeight(spec)); // the bias starts at zero
        if (spec.HasBias) bias = new Parameter(zeros(spec.OutputChannels));
        // Registered by hand: RegisterComponents orders fields by name (bias before weight); PyTorch's order is weight, bias.
        register_parameter(nameof(weight), weight);
        if (bias is not null) register_parameter(nameof(bias), bias);
    }

    /// <summary>The layer this module implements.</summary>
    public ConvSpec Spec { get; }

    /// <summary>The kernel, [out, in/groups, k, k].</summary>
    public Parameter Weight => weight;

    /// <summary>The bias, or null (only squeeze-and-excitation convolutions have one).</summary>
    public Parameter? Bias => bias;

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        var (top, bottom) = ConvPadding.Compute(_padding, (int)input.shape[2], _kernelSize, (int)_stride);
        var (left, right) = ConvPadding.Compute(_padding, (int)input.shape[3], _kernelSize, (int)_stride);
        if (input.shape[2] == 1 && input.shape[3] == 1) return OnSinglePixel(input, top, left);
        if (_kernelSize == 1 && _groups == 1 && _stride == 1 && IsChannelsLast(input)) return PointwiseChannelsLast(input);
        if (top == bottom && left == right)
            return nn.functional.conv2d(input, weight, bias, strides: [_stride, _stride], padding: [top, left], groups: _groups);
        // Asymmetric: pad explicitly, then convolve without padding.
        using var padded = nn.functional.pad(input, [left, right, top, bottom]);
        return nn.functional.conv2d(padded, weight, bias, strides: [_stride, _stride], padding: [0, 0], groups: _groups);
    }

    /// <summary>
    /// A 1×1 convolution on channels-last input as a matrix product over the channel axis: NHWC is already the matrix
    /// [N·H·W, C], so no copy is made and the output comes back channels-last. libtorch 2.10's oneDNN 1×1 convolution
    /// returns wrong values on channels-last input for some output widths (40, 80, 112, 136, 1280 were measured; see
    /// docs/TRAINING.md), and the matrix product is also faster.
    /// </summary>
    private Tensor PointwiseChannelsLast(Tensor input)
    {
        using var scope = NewDisposeScope();
        var nhwc = input.permute(0, 2, 3, 1);
        var output = nn.functional.linear(nhwc, weight.flatten(1), bias);
        return output.permute(0, 3, 1, 2).MoveToOuterDisposeScope();
    }

    /// <summary>True when a 4-D tensor is laid out NHWC in memory (channels-last strides) and not also NCHW-contiguous.</summary>
    internal static bool IsChannelsLast(Tensor input)
    {
        var stride = input.stride();
        return stride.Length == 4 && stride[1] == 1 && input.shape[1] > 1 && stride[3] == input.shape[1] && stride[2] == input.shape[1] * input.shape[3];
    }

    /// <summary>
    /// A 1×1 input (every squeeze-excitation convolution; the last stages at small resolutions) meets only the kernel tap
    /// at the padding offset, so the convolution is exactly a per-channel scale (depthwise) or a matrix product (dense).
    /// Computed that way it is several times faster on the CPU than libtorch's convolution, which falls back to a slow
    /// GEMM-based kernel for grouped convolutions on 1×1 maps.
    /// </summary>
    private Tensor OnSinglePixel(Tensor input, long top, long left)
    {
        using var scope = NewDisposeScope();
        long n = input.shape[0], inputs = input.shape[1], outputs = weight.shape[0];
        var tap = weight[.., .., top, left]; // [out, in/groups]
        Tensor result;
        if (_groups == 1)
        {
            result = nn.functional.linear(input.reshape(n, inputs), tap, bias);
        }
        else if (_groups == inputs && _groups == outputs)
        {
            result = input.reshape(n, inputs) * tap.reshape(1, outputs);
            if (bias is not null) result = result.add(bias, HeldScalars.One);
        }
        else
        {
            return nn.functional.conv2d(input, weight, bias, strides: [_stride, _stride], padding: [top, left], groups: _groups).MoveToOuterDisposeScope();
        }
        return result.reshape(n, outputs, 1, 1).MoveToOuterDisposeScope();
    }
}
