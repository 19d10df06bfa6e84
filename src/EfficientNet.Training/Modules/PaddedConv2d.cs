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
public sealed class PaddedConv2d : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly Parameter? bias;
    private readonly long _stride;
    private readonly long _groups;
    private readonly int _kernelSize;
    private readonly PaddingMode _padding;

    /// <summary>Creates the convolution from its spec, with PyTorch's default (Kaiming-uniform) initialisation.</summary>
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
        // torchvision's EfficientNet initialisation: Kaiming normal, fan_out; zero bias.
        nn.init.kaiming_normal_(weight, mode: nn.init.FanInOut.FanOut);
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
        if (top == bottom && left == right)
            return nn.functional.conv2d(input, weight, bias, strides: [_stride, _stride], padding: [top, left], groups: _groups);
        // Asymmetric: pad explicitly, then convolve without padding.
        using var padded = nn.functional.pad(input, [left, right, top, bottom]);
        return nn.functional.conv2d(padded, weight, bias, strides: [_stride, _stride], padding: [0, 0], groups: _groups);
    }
}
