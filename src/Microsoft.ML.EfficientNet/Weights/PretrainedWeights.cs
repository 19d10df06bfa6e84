using Microsoft.ML.EfficientNet.Architecture;

namespace Microsoft.ML.EfficientNet.Weights;

/// <summary>
/// A published weights file: where to download it, what it must hash to, and its format. The default table lists
/// torchvision's ImageNet-1k files (efficientnet.md, "Where the public weights live").
/// </summary>
/// <param name="Variant">The variant the file holds.</param>
/// <param name="FileName">File name in the cache folder.</param>
/// <param name="Url">Download address.</param>
/// <param name="Sha256">Expected SHA-256 in lowercase hex: the full digest, or a prefix of at least 8 characters when only
/// the prefix is published (torchvision names its files with one).</param>
/// <param name="Format">The checkpoint's format.</param>
public sealed record PretrainedWeights(EfficientNetVariant Variant, string FileName, Uri Url, string Sha256, WeightFormat Format)
{
    /// <summary>Environment variable that replaces the download base address (a mirror or an internal server).</summary>
    public const string BaseUrlVariable = "EFFICIENTNETML_WEIGHTS_URL";

    /// <summary>torchvision's download base address.</summary>
    public static readonly Uri TorchvisionBaseUrl = new("https://download.pytorch.org/models/");

    // torchvision ≥ 0.16 names: the suffix is a SHA-256 prefix; full digests where torchvision publishes them.
    private static readonly (string File, string Sha256)[] TorchvisionFiles =
    [
        ("efficientnet_b0_rwightman-7f5810bc.pth", "7f5810bc96def8f7552d5b7e68d53c4786f81167d28291b21c0d90e1fca14934"),
        ("efficientnet_b1_rwightman-bac287d4.pth", "bac287d4"),
        ("efficientnet_b2_rwightman-c35c1473.pth", "c35c1473"),
        ("efficientnet_b3_rwightman-b3899882.pth", "b3899882250c22946d0229d266049fcd133c169233530b36b9ffa7983988362f"),
        ("efficientnet_b4_rwightman-23ab8bcd.pth", "23ab8bcd5bdbef61a7a43b91adcad81f622fd7f36fb4935a569828d77888c44e"),
        ("efficientnet_b5_lukemelas-1a07897c.pth", "1a07897c"),
        ("efficientnet_b6_lukemelas-24a108a5.pth", "24a108a5"),
        ("efficientnet_b7_lukemelas-c5b4e57e.pth", "c5b4e57e"),
    ];

    /// <summary>
    /// torchvision's ImageNet weights for a published variant (B1: the V1 "rwightman" file), from
    /// <see cref="TorchvisionBaseUrl"/> or the address in <see cref="BaseUrlVariable"/>.
    /// </summary>
    /// <param name="variant">One of B0–B7.</param>
    /// <exception cref="ArgumentException">The variant is not one of B0–B7 (no public weights exist).</exception>
    public static PretrainedWeights Torchvision(EfficientNetVariant variant)
    {
        ArgumentNullException.ThrowIfNull(variant);
        int index = EfficientNetVariant.Published.ToList().IndexOf(variant);
        if (index < 0)
            throw new ArgumentException($"No pretrained weights are published for '{variant.Name}'; pass WeightsPath or train it.", nameof(variant));
        var baseUrl = Environment.GetEnvironmentVariable(BaseUrlVariable) is { Length: > 0 } mirror
            ? new Uri(mirror.EndsWith('/') ? mirror : mirror + "/")
            : TorchvisionBaseUrl;
        var (file, sha) = TorchvisionFiles[index];
        return new PretrainedWeights(variant, file, new Uri(baseUrl, file), sha, WeightFormat.TorchVision);
    }
}
