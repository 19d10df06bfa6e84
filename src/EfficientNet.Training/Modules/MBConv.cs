using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientNet.Training.Modules;

/// <summary>
/// Mobile inverted bottleneck block built from a <see cref="MBConvBlockSpec"/>: <c>block</c> holds
/// [expand] → depthwise → squeeze-excitation → project, as in torchvision's <c>MBConv</c>; the residual with stochastic
/// depth is added when the spec says so. A Fused-MBConv spec (EfficientNetV2) builds torchvision's <c>FusedMBConv</c>:
/// expand k×k → project 1×1, or one k×k unit.
/// </summary>
internal sealed class MBConv : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> block;
    private readonly StochasticDepth stochastic_depth;

    /// <summary>Creates the block.</summary>
    /// <param name="spec">Channels, kernel, stride, squeeze width and drop rate.</param>
    /// <param name="source">Padding and batch-norm settings of the weights in use.</param>
    /// <param name="activation">Makes each SiLU.</param>
    public MBConv(MBConvBlockSpec spec, WeightSource source, ActivationFactory activation) : base(nameof(MBConv))
    {
        ArgumentNullException.ThrowIfNull(spec);
        Spec = spec;
        var layers = new List<(string, nn.Module<Tensor, Tensor>)>();
        if (spec.Expand is not null) layers.Add((layers.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), ConvNormActivation.Create(spec.Expand, source, activation)));
        // Fused-MBConv has neither: its expand (or single) unit is k×k.
        if (spec.Depthwise is not null) layers.Add((layers.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), ConvNormActivation.Create(spec.Depthwise, source, activation)));
        if (spec.SqueezeExcitation is not null) layers.Add((layers.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), new SqueezeExcitation(spec.SqueezeExcitation, activation)));
        layers.Add((layers.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), ConvNormActivation.Create(spec.Project, source, activation)));
        block = nn.Sequential(layers);
        stochastic_depth = new StochasticDepth(spec.DropPathRate);
        RegisterComponents();
    }

    /// <summary>The block this module implements.</summary>
    public MBConvBlockSpec Spec { get; }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        if (!Spec.HasResidual) return block.forward(input);
        using var scope = NewDisposeScope();
        var result = stochastic_depth.forward(block.forward(input));
        return result.add_(input, HeldScalars.One).MoveToOuterDisposeScope();
    }
}
