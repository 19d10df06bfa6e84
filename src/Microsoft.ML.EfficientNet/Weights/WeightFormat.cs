namespace Microsoft.ML.EfficientNet.Weights;

/// <summary>
/// Where a checkpoint comes from. The format fixes three things that must match the weights: the state-dict key names,
/// the convolution padding and the batch-norm eps (docs/WEIGHTS.md, "BatchNorm eps, momentum and padding").
/// </summary>
public enum WeightFormat
{
    /// <summary>torchvision <c>efficientnet_bN</c> (and checkpoints trained with this library): symmetric padding;
    /// BN eps 1e-5 for B0–B4, 1e-3 for B5–B7.</summary>
    TorchVision,

    /// <summary>lukemelas/EfficientNet-PyTorch (TensorFlow port): SAME padding, BN eps 1e-3.</summary>
    LukeMelas,

    /// <summary>timm <c>efficientnet_bN</c> (trained in PyTorch): symmetric padding, BN eps 1e-5.</summary>
    Timm,

    /// <summary>timm <c>tf_efficientnet_bN</c> (TensorFlow port): SAME padding, BN eps 1e-3. Same key names as <see cref="Timm"/>.</summary>
    TimmTensorFlow,
}

/// <summary>Names for <see cref="WeightFormat"/> on command lines and in metadata.</summary>
internal static class WeightFormats
{
    /// <summary>The command-line names: <c>torchvision</c>, <c>lukemelas</c>, <c>timm</c>, <c>timm-tf</c>.</summary>
    public static IReadOnlyList<string> Names { get; } = ["torchvision", "lukemelas", "timm", "timm-tf"];

    /// <summary>The command-line name of a format.</summary>
    /// <param name="format">The format.</param>
    public static string ToName(WeightFormat format) => Names[(int)format];

    /// <summary>Parses <c>torchvision</c>, <c>lukemelas</c>, <c>timm</c> or <c>timm-tf</c> (also <c>tf_efficientnet</c>), ignoring case.</summary>
    /// <param name="name">The name.</param>
    /// <exception cref="ArgumentException">Unknown name; the message lists the valid ones.</exception>
    public static WeightFormat Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        string key = name.Trim().ToLowerInvariant().Replace('_', '-');
        int index = key switch
        {
            "tf-efficientnet" or "timm-tf-efficientnet" or "tf" => 3,
            "efficientnet-pytorch" => 1,
            _ => Names.ToList().IndexOf(key),
        };
        return index >= 0
            ? (WeightFormat)index
            : throw new ArgumentException($"Unknown weight format '{name}'. Valid formats: {string.Join(", ", Names)}.", nameof(name));
    }
}
