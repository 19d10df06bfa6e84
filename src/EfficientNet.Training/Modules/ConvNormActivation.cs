using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientNet.Training.Modules;

/// <summary>
/// Convolution → batch norm → [SiLU], as torchvision's <c>Conv2dNormActivation</c>: a sequence whose children are
/// named <c>0</c>, <c>1</c>, <c>2</c>, so keys read <c>features.0.0.weight</c>, <c>features.0.1.running_mean</c> ….
/// </summary>
internal static class ConvNormActivation
{
    public static nn.Module<Tensor, Tensor> Create(ConvNormActivationSpec spec, WeightSource source, ActivationFactory activation)
    {
        var layers = new List<(string, nn.Module<Tensor, Tensor>)>
        {
            ("0", new PaddedConv2d(spec.Conv, source.Padding)),
            ("1", new BatchNorm2d(spec.Channels, source.BatchNormEpsilon, source.BatchNormMomentum)),
        };
        if (spec.HasActivation) layers.Add(("2", activation()));
        return nn.Sequential(layers);
    }
}

/// <summary>Makes the activation module (SiLU, or its memory-efficient form during training).</summary>
internal delegate nn.Module<Tensor, Tensor> ActivationFactory();
