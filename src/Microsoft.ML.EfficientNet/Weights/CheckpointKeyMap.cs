using Microsoft.ML.EfficientNet.Architecture;

namespace Microsoft.ML.EfficientNet.Weights;

/// <summary>
/// State-dict key names of each weight format, derived from the spec's layers: the same tensors in the same order,
/// only the names differ (docs/WEIGHTS.md, "State-dict key names"). Canonical names are torchvision's.
/// </summary>
internal static class CheckpointKeyMap
{
    /// <summary>The key of one tensor in a format.</summary>
    /// <param name="tensor">A tensor of <see cref="EfficientNetSpec.StateDict"/>.</param>
    /// <param name="format">The naming scheme.</param>
    public static string KeyFor(TensorSpec tensor, WeightFormat format)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        return format switch
        {
            WeightFormat.TorchVision => tensor.Name,
            WeightFormat.LukeMelas => LukeMelasLayer(tensor.Layer) + "." + tensor.Leaf,
            WeightFormat.Timm or WeightFormat.TimmTensorFlow => TimmLayer(tensor.Layer) + "." + tensor.Leaf,
            _ => throw new ArgumentOutOfRangeException(nameof(format), format, "Unknown weight format."),
        };
    }

    /// <summary>Map from a format's key to the canonical (torchvision) key, for every tensor of the spec.</summary>
    /// <param name="spec">The network.</param>
    /// <param name="format">The naming scheme.</param>
    public static IReadOnlyDictionary<string, TensorSpec> ByFormatKey(EfficientNetSpec spec, WeightFormat format)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return spec.StateDict.ToDictionary(t => KeyFor(t, format), StringComparer.Ordinal);
    }

    /// <summary>
    /// The naming scheme of a set of keys, from the stem convolution's name; null when none matches. timm's two
    /// flavours share names: <see cref="WeightFormat.Timm"/> is returned, and <see cref="WeightFormat.TimmTensorFlow"/>
    /// must be chosen by the caller (file name or explicit option).
    /// </summary>
    /// <param name="keys">Keys of a checkpoint.</param>
    public static WeightFormat? DetectNaming(IEnumerable<string> keys)
    {
        var set = keys as ISet<string> ?? new HashSet<string>(keys, StringComparer.Ordinal);
        if (set.Contains("features.0.0.weight")) return WeightFormat.TorchVision;
        if (set.Contains("_conv_stem.weight")) return WeightFormat.LukeMelas;
        if (set.Contains("conv_stem.weight")) return WeightFormat.Timm;
        return null;
    }

    private static string LukeMelasLayer(LayerSpec layer) => layer.Role switch
    {
        LayerRole.StemConv => "_conv_stem",
        LayerRole.StemNorm => "_bn0",
        LayerRole.HeadConv => "_conv_head",
        LayerRole.HeadNorm => "_bn1",
        LayerRole.Classifier => "_fc",
        _ => $"_blocks.{layer.Block!.Index}." + layer.Role switch
        {
            LayerRole.ExpandConv => "_expand_conv",
            LayerRole.ExpandNorm => "_bn0",
            LayerRole.DepthwiseConv => "_depthwise_conv",
            LayerRole.DepthwiseNorm => "_bn1",
            LayerRole.SqueezeReduce => "_se_reduce",
            LayerRole.SqueezeExpand => "_se_expand",
            LayerRole.ProjectConv => "_project_conv",
            LayerRole.ProjectNorm => "_bn2",
            _ => throw new InvalidOperationException($"Layer role {layer.Role} is not a block layer."),
        },
    };

    private static string TimmLayer(LayerSpec layer)
    {
        if (layer.Block is not { } block)
        {
            return layer.Role switch
            {
                LayerRole.StemConv => "conv_stem",
                LayerRole.StemNorm => "bn1",
                LayerRole.HeadConv => "conv_head",
                LayerRole.HeadNorm => "bn2",
                _ => "classifier",
            };
        }
        // timm builds expand-free blocks as DepthwiseSeparableConv (conv_dw, bn1, se, conv_pw, bn2) and the others as
        // InvertedResidual (conv_pw, bn1, conv_dw, bn2, se, conv_pwl, bn3).
        string name = (layer.Role, block.HasExpansion) switch
        {
            (LayerRole.ExpandConv, _) => "conv_pw",
            (LayerRole.ExpandNorm, _) => "bn1",
            (LayerRole.DepthwiseConv, _) => "conv_dw",
            (LayerRole.DepthwiseNorm, true) => "bn2",
            (LayerRole.DepthwiseNorm, false) => "bn1",
            (LayerRole.SqueezeReduce, _) => "se.conv_reduce",
            (LayerRole.SqueezeExpand, _) => "se.conv_expand",
            (LayerRole.ProjectConv, true) => "conv_pwl",
            (LayerRole.ProjectConv, false) => "conv_pw",
            (LayerRole.ProjectNorm, true) => "bn3",
            (LayerRole.ProjectNorm, false) => "bn2",
            _ => throw new InvalidOperationException($"Layer role {layer.Role} is not a block layer."),
        };
        return $"blocks.{block.Stage}.{block.IndexInStage}.{name}";
    }
}
