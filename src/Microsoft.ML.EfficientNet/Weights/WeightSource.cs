using Microsoft.ML.EfficientNet.Architecture;

namespace Microsoft.ML.EfficientNet.Weights;

/// <summary>
/// The numerical conventions weights were trained under: padding and batch-norm eps/momentum. Inference must use the
/// same eps as training, or every batch norm is slightly off (docs/WEIGHTS.md, "BatchNorm eps, momentum and padding").
/// </summary>
/// <param name="Format">The source the conventions come from.</param>
/// <param name="Padding">Convolution padding.</param>
/// <param name="BatchNormEpsilon">The ε added to the running variance.</param>
/// <param name="BatchNormMomentum">PyTorch-style momentum for running statistics during training.</param>
internal sealed record WeightSource(WeightFormat Format, PaddingMode Padding, double BatchNormEpsilon, double BatchNormMomentum)
{
    /// <summary>
    /// The conventions of a weight format for a variant: for B0–B7 and V2-S/M/L those of the published file in
    /// <see cref="PretrainedWeights.Published"/>; otherwise the format's rule (docs/WEIGHTS.md, "BatchNorm eps, momentum
    /// and padding").
    /// </summary>
    /// <param name="format">The format.</param>
    /// <param name="variant">The variant; torchvision changes eps and momentum from B5 on, and V2 uses eps 1e-3.</param>
    public static WeightSource For(WeightFormat format, EfficientNetVariant variant)
    {
        ArgumentNullException.ThrowIfNull(variant);
        if (PretrainedWeights.Find(format, variant) is { } published) return published.Source;
        // Variants with no published file, and timm's PyTorch-trained format (not in the table), follow the format's rule.
        return format switch
        {
            WeightFormat.TorchVision => new(format, PaddingMode.Symmetric, 1e-5, 0.1),
            WeightFormat.LukeMelas => new(format, PaddingMode.TensorFlowSame, 1e-3, 0.01),
            WeightFormat.Timm => new(format, PaddingMode.Symmetric, 1e-5, 0.1),
            WeightFormat.TimmTensorFlow => new(format, PaddingMode.TensorFlowSame, 1e-3, 0.1),
            _ => throw new ArgumentOutOfRangeException(nameof(format), format, "Unknown weight format."),
        };
    }
}
