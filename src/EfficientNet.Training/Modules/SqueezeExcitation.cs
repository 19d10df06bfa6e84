using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Weights;
using static TorchSharp.torch;

namespace EfficientNet.Training.Modules;

/// <summary>
/// Squeeze-and-excitation: global average pool → <c>fc1</c> (1×1 conv, bias) → SiLU → <c>fc2</c> → sigmoid → scale.
/// Field names match torchvision's <c>SqueezeExcitation</c>.
/// </summary>
internal sealed class SqueezeExcitation : nn.Module<Tensor, Tensor>
{
    private readonly PaddedConv2d fc1;
    private readonly PaddedConv2d fc2;
    private readonly nn.Module<Tensor, Tensor> activation;

    /// <summary>Creates the unit from its spec.</summary>
    /// <param name="spec">The reduce and expand convolutions.</param>
    /// <param name="activation">Makes the SiLU between them.</param>
    public SqueezeExcitation(SqueezeExcitationSpec spec, ActivationFactory activation) : base(nameof(SqueezeExcitation))
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(activation);
        // 1×1 convolutions: padding mode is irrelevant.
        fc1 = new PaddedConv2d(spec.Reduce, PaddingMode.Symmetric);
        fc2 = new PaddedConv2d(spec.Expand, PaddingMode.Symmetric);
        this.activation = activation();
        register_module(nameof(fc1), fc1);
        register_module(nameof(fc2), fc2);
        register_module(nameof(activation), this.activation);
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var scale = nn.functional.adaptive_avg_pool2d(input, 1);
        scale = fc2.forward(activation.forward(fc1.forward(scale))).sigmoid_();
        return (input * scale).MoveToOuterDisposeScope();
    }
}
