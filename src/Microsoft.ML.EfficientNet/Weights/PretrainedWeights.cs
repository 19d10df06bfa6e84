using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Preprocessing;

namespace Microsoft.ML.EfficientNet.Weights;

/// <summary>
/// A published weights file and everything that must match it, as torchvision's <c>EfficientNet_B0_Weights</c> entries
/// hold url + transforms + meta: where to download it, what it must hash to, its format, its evaluation preprocessing,
/// its batch-norm/padding conventions and its published ImageNet accuracy. <see cref="Published"/> is the one table of
/// these facts (docs/WEIGHTS.md lists it with its sources); <see cref="PretrainedWeights.RecipeFor"/> and
/// <see cref="WeightSource.For"/> read it for B0–B7.
/// </summary>
/// <param name="Variant">The variant the file holds.</param>
/// <param name="FileName">File name in the cache folder.</param>
/// <param name="Url">Download address.</param>
/// <param name="Sha256">Expected SHA-256 in lowercase hex: the full digest, or a prefix of at least 8 characters when only
/// the prefix is published (torchvision names its files with one); empty when the publisher gives none (see
/// <see cref="HasDigest"/>).</param>
/// <param name="Format">The checkpoint's format.</param>
public sealed record PretrainedWeights(EfficientNetVariant Variant, string FileName, Uri Url, string Sha256, WeightFormat Format)
{
    private readonly PreprocessingRecipe? _preprocessing;
    private readonly WeightSource? _source;

    /// <summary>Environment variable that replaces the download base address (a mirror or an internal server).</summary>
    public const string BaseUrlVariable = "EFFICIENTNETML_WEIGHTS_URL";

    /// <summary>torchvision's download base address.</summary>
    public static readonly Uri TorchvisionBaseUrl = new("https://download.pytorch.org/models/");

    /// <summary>timm's GitHub release of its own and ported weights (v0.1-weights), where its EfficientNet-Lite files are.</summary>
    public static readonly Uri TimmReleaseBaseUrl = new("https://github.com/rwightman/pytorch-image-models/releases/download/v0.1-weights/");

    /// <summary>lukemelas/EfficientNet-PyTorch's download base address (its GitHub release 1.0).</summary>
    public static readonly Uri LukeMelasBaseUrl = new("https://github.com/lukemelas/EfficientNet-PyTorch/releases/download/1.0/");

    /// <summary>
    /// The evaluation transform the file's published accuracy was measured with. Unless set, the one
    /// <see cref="PretrainedWeights.RecipeFor"/> gives for <see cref="Format"/> and <see cref="Variant"/>.
    /// </summary>
    public PreprocessingRecipe Preprocessing
    {
        get => _preprocessing ?? PretrainedWeights.RecipeFor(Format, Variant);
        init => _preprocessing = value;
    }

    /// <summary>
    /// The padding and batch-norm eps/momentum the weights were trained with. Unless set, the one
    /// <see cref="WeightSource.For"/> gives for <see cref="Format"/> and <see cref="Variant"/>.
    /// </summary>
    internal WeightSource Source
    {
        get => _source ?? WeightSource.For(Format, Variant);
        init => _source = value;
    }

    /// <summary>Published ImageNet-1k validation top-1 accuracy in percent (torchvision's <c>acc@1</c>); null when not published.</summary>
    public double? Top1 { get; init; }

    /// <summary>Published ImageNet-1k validation top-5 accuracy in percent (torchvision's <c>acc@5</c>); null when not published.</summary>
    public double? Top5 { get; init; }

    /// <summary>True when <see cref="Sha256"/> holds at least 8 hex digits, so a download can be checked.</summary>
    public bool HasDigest => Sha256.Length >= 8;

    /// <summary>
    /// Every published file this library knows, one per format and variant: torchvision's ImageNet-1k files (B1: the
    /// V1 "rwightman" file) and its V2-S/M/L files, lukemelas' release files, timm's <c>tf_efficientnet_bN.aa_in1k</c> and its
    /// EfficientNet-Lite files. Only torchvision
    /// publishes SHA-256 digests. Numbers and sources: docs/WEIGHTS.md.
    /// </summary>
    public static IReadOnlyList<PretrainedWeights> Published { get; } =
    [
        // torchvision ≥ 0.16 names: the suffix is a SHA-256 prefix; full digests where torchvision publishes them.
        // Resize/crop, interpolation and acc@1/acc@5 from torchvision's EfficientNet_BN_Weights.IMAGENET1K_V1.
        TorchvisionEntry(EfficientNetVariant.B0, "efficientnet_b0_rwightman-7f5810bc.pth", "7f5810bc96def8f7552d5b7e68d53c4786f81167d28291b21c0d90e1fca14934", 256, 224, 77.692, 93.532),
        TorchvisionEntry(EfficientNetVariant.B1, "efficientnet_b1_rwightman-bac287d4.pth", "bac287d4", 256, 240, 78.642, 94.186),
        TorchvisionEntry(EfficientNetVariant.B2, "efficientnet_b2_rwightman-c35c1473.pth", "c35c1473", 288, 288, 80.608, 95.310),
        TorchvisionEntry(EfficientNetVariant.B3, "efficientnet_b3_rwightman-b3899882.pth", "b3899882250c22946d0229d266049fcd133c169233530b36b9ffa7983988362f", 320, 300, 82.008, 96.054),
        TorchvisionEntry(EfficientNetVariant.B4, "efficientnet_b4_rwightman-23ab8bcd.pth", "23ab8bcd5bdbef61a7a43b91adcad81f622fd7f36fb4935a569828d77888c44e", 384, 380, 83.384, 96.594),
        // torchvision's B5–B7 are lukemelas ports and keep lukemelas' eps 1e-3 and momentum 0.01.
        TorchvisionEntry(EfficientNetVariant.B5, "efficientnet_b5_lukemelas-1a07897c.pth", "1a07897c", 456, 456, 83.444, 96.628, lukeMelasPort: true),
        TorchvisionEntry(EfficientNetVariant.B6, "efficientnet_b6_lukemelas-24a108a5.pth", "24a108a5", 528, 528, 84.008, 96.916, lukeMelasPort: true),
        TorchvisionEntry(EfficientNetVariant.B7, "efficientnet_b7_lukemelas-c5b4e57e.pth", "c5b4e57e", 600, 600, 84.122, 96.908, lukeMelasPort: true),
        // EfficientNet_V2_{S,M,L}_Weights.IMAGENET1K_V1: resize = crop, eps 1e-3 (torchvision builds V2 with it), momentum
        // 0.1 (PyTorch's default); V2-L is a port of Google's weights and evaluates bicubic with mean = std = 0.5.
        TorchvisionV2Entry(EfficientNetVariant.V2S, "efficientnet_v2_s-dd5fe13b.pth", "dd5fe13b", 384, ResizeInterpolation.Bilinear, false, 84.228, 96.878),
        TorchvisionV2Entry(EfficientNetVariant.V2M, "efficientnet_v2_m-dc08266a.pth", "dc08266a", 480, ResizeInterpolation.Bilinear, false, 85.112, 97.156),
        TorchvisionV2Entry(EfficientNetVariant.V2L, "efficientnet_v2_l-59c71312.pth", "59c71312", 480, ResizeInterpolation.Bicubic, true, 85.808, 97.788),

        // lukemelas' url_map; its name suffixes are not SHA-256 prefixes and no digest is published. Resize = crop = native.
        LukeMelasEntry(EfficientNetVariant.B0, "efficientnet-b0-355c32eb.pth"),
        LukeMelasEntry(EfficientNetVariant.B1, "efficientnet-b1-f1951068.pth"),
        LukeMelasEntry(EfficientNetVariant.B2, "efficientnet-b2-8bb594d6.pth"),
        LukeMelasEntry(EfficientNetVariant.B3, "efficientnet-b3-5fb5a3c3.pth"),
        LukeMelasEntry(EfficientNetVariant.B4, "efficientnet-b4-6ed6700e.pth"),
        LukeMelasEntry(EfficientNetVariant.B5, "efficientnet-b5-b6417697.pth"),
        LukeMelasEntry(EfficientNetVariant.B6, "efficientnet-b6-c76e70fd.pth"),
        LukeMelasEntry(EfficientNetVariant.B7, "efficientnet-b7-dcc49843.pth"),

        // timm tf_efficientnet_bN.aa_in1k on the Hugging Face hub: crop_pct (resize = ⌊crop / crop_pct⌋) and top-1.
        TimmTensorFlowEntry(EfficientNetVariant.B0, 0.875, 76.882),
        TimmTensorFlowEntry(EfficientNetVariant.B1, 0.882, 78.840),
        TimmTensorFlowEntry(EfficientNetVariant.B2, 0.890, 80.074),
        TimmTensorFlowEntry(EfficientNetVariant.B3, 0.904, 81.648),
        TimmTensorFlowEntry(EfficientNetVariant.B4, 0.922, 83.040),
        TimmTensorFlowEntry(EfficientNetVariant.B5, 0.934, 83.696),
        TimmTensorFlowEntry(EfficientNetVariant.B6, 0.942, 84.124),
        TimmTensorFlowEntry(EfficientNetVariant.B7, 0.949, 84.424),

        // EfficientNet-Lite: timm's ports of Google's checkpoints (tf_efficientnet_liteN.in1k: SAME padding, eps 1e-3,
        // mean = std = 0.5; timm evaluates Lite3 and Lite4 above their native 280 and 300 px) and timm's own Lite0
        // (efficientnet_lite0.ra_in1k, ImageNet statistics). torchvision has no Lite. No digests are published.
        TimmLiteEntry(EfficientNetVariant.Lite0, "tf_efficientnet_lite0-0aa007d2.pth", 224, 0.875, ResizeInterpolation.Bicubic),
        TimmLiteEntry(EfficientNetVariant.Lite1, "tf_efficientnet_lite1-bde8b488.pth", 240, 0.882, ResizeInterpolation.Bicubic),
        TimmLiteEntry(EfficientNetVariant.Lite2, "tf_efficientnet_lite2-dcccb7df.pth", 260, 0.890, ResizeInterpolation.Bicubic),
        TimmLiteEntry(EfficientNetVariant.Lite3, "tf_efficientnet_lite3-b733e338.pth", 300, 0.904, ResizeInterpolation.Bilinear),
        TimmLiteEntry(EfficientNetVariant.Lite4, "tf_efficientnet_lite4-741542c3.pth", 380, 0.920, ResizeInterpolation.Bilinear),
        new(EfficientNetVariant.Lite0, "efficientnet_lite0_ra-37913777.pth", new Uri(TimmReleaseBaseUrl, "efficientnet_lite0_ra-37913777.pth"), "", WeightFormat.Timm)
        {
            Preprocessing = PreprocessingRecipe.Centered(224, 0.875),
            Source = new(WeightFormat.Timm, PaddingMode.Symmetric, 1e-5, 0.1),
        },
    ];

    /// <summary>The entry of <see cref="Published"/> for a format and variant, or null when none is published.</summary>
    /// <param name="format">The weight format.</param>
    /// <param name="variant">The variant.</param>
    public static PretrainedWeights? Find(WeightFormat format, EfficientNetVariant variant)
    {
        ArgumentNullException.ThrowIfNull(variant);
        return Published.FirstOrDefault(w => w.Format == format && w.Variant.Equals(variant));
    }

    /// <summary>
    /// The weights <c>pretrained</c> means for a variant: torchvision's ImageNet file (<see cref="Torchvision"/>) for B0–B7
    /// and V2, timm's port of Google's <c>tf_efficientnet_liteN</c> for Lite0–Lite4 (torchvision has no Lite); from the
    /// address in <see cref="BaseUrlVariable"/> when it is set.
    /// </summary>
    /// <param name="variant">One of the named variants.</param>
    /// <exception cref="ArgumentException">No weights are published for the variant (custom and φ variants).</exception>
    public static PretrainedWeights Default(EfficientNetVariant variant)
    {
        ArgumentNullException.ThrowIfNull(variant);
        if (!variant.IsLite) return Torchvision(variant);
        var published = Find(WeightFormat.TimmTensorFlow, variant)
            ?? throw NotPublished(variant);
        return published with { Url = new Uri(BaseUrl(TimmReleaseBaseUrl), published.FileName) };
    }

    /// <summary>
    /// torchvision's ImageNet weights for a published variant (B1: the V1 "rwightman" file), from
    /// <see cref="TorchvisionBaseUrl"/> or the address in <see cref="BaseUrlVariable"/>.
    /// </summary>
    /// <param name="variant">One of B0–B7 or V2-S/M/L.</param>
    /// <exception cref="ArgumentException">The variant is not one of B0–B7 or V2-S/M/L (no public weights exist).</exception>
    public static PretrainedWeights Torchvision(EfficientNetVariant variant)
    {
        ArgumentNullException.ThrowIfNull(variant);
        var published = Find(WeightFormat.TorchVision, variant)
            ?? throw NotPublished(variant);
        return published with { Url = new Uri(BaseUrl(TorchvisionBaseUrl), published.FileName) };
    }

    private static ArgumentException NotPublished(EfficientNetVariant variant) =>
        new($"No pretrained weights are published for '{variant.Name}'; pass WeightsPath or train it.", nameof(variant));

    private static Uri BaseUrl(Uri publisher) =>
        Environment.GetEnvironmentVariable(BaseUrlVariable) is { Length: > 0 } mirror
            ? new Uri(mirror.EndsWith('/') ? mirror : mirror + "/")
            : publisher;

    private static PretrainedWeights TorchvisionEntry(EfficientNetVariant variant, string file, string sha256, int resize, int crop, double top1, double top5, bool lukeMelasPort = false) =>
        new(variant, file, new Uri(TorchvisionBaseUrl, file), sha256, WeightFormat.TorchVision)
        {
            Preprocessing = new(resize, crop, PreprocessingRecipe.ImageNetMean, PreprocessingRecipe.ImageNetStd, ResizeInterpolation.Bicubic),
            Source = lukeMelasPort
                ? new(WeightFormat.TorchVision, PaddingMode.Symmetric, 1e-3, 0.01)
                : new(WeightFormat.TorchVision, PaddingMode.Symmetric, 1e-5, 0.1),
            Top1 = top1,
            Top5 = top5,
        };

    private static PretrainedWeights TorchvisionV2Entry(EfficientNetVariant variant, string file, string sha256, int size, ResizeInterpolation interpolation, bool halfStatistics, double top1, double top5) =>
        new(variant, file, new Uri(TorchvisionBaseUrl, file), sha256, WeightFormat.TorchVision)
        {
            Preprocessing = halfStatistics
                ? new(size, size, PreprocessingRecipe.AdvProp, PreprocessingRecipe.AdvProp, interpolation)
                : new(size, size, PreprocessingRecipe.ImageNetMean, PreprocessingRecipe.ImageNetStd, interpolation),
            Source = new(WeightFormat.TorchVision, PaddingMode.Symmetric, EfficientNetV2Baseline.BatchNormEpsilon, 0.1),
            Top1 = top1,
            Top5 = top5,
        };

    private static PretrainedWeights LukeMelasEntry(EfficientNetVariant variant, string file) =>
        new(variant, file, new Uri(LukeMelasBaseUrl, file), "", WeightFormat.LukeMelas)
        {
            Preprocessing = new(variant.Resolution, variant.Resolution, PreprocessingRecipe.ImageNetMean, PreprocessingRecipe.ImageNetStd, ResizeInterpolation.Bicubic),
            Source = new(WeightFormat.LukeMelas, PaddingMode.TensorFlowSame, 1e-3, 0.01),
        };

    private static PretrainedWeights TimmLiteEntry(EfficientNetVariant variant, string file, int size, double cropFraction, ResizeInterpolation interpolation) =>
        new(variant, file, new Uri(TimmReleaseBaseUrl, file), "", WeightFormat.TimmTensorFlow)
        {
            Preprocessing = PreprocessingRecipe.Centered(size, cropFraction, PreprocessingRecipe.AdvProp, PreprocessingRecipe.AdvProp) with { Interpolation = interpolation },
            Source = new(WeightFormat.TimmTensorFlow, PaddingMode.TensorFlowSame, 1e-3, 0.1),
        };

    private static PretrainedWeights TimmTensorFlowEntry(EfficientNetVariant variant, double cropFraction, double top1)
    {
        // Every hub repository names its file model.safetensors; the cache name keeps the repository's name.
        string repository = $"tf_efficientnet_{variant.Name}.aa_in1k";
        return new(variant, repository + ".safetensors", new Uri($"https://huggingface.co/timm/{repository}/resolve/main/model.safetensors"), "", WeightFormat.TimmTensorFlow)
        {
            Preprocessing = PreprocessingRecipe.Centered(variant.Resolution, cropFraction),
            Source = new(WeightFormat.TimmTensorFlow, PaddingMode.TensorFlowSame, 1e-3, 0.1),
            Top1 = top1,
        };
    }

    /// <summary>
    /// The evaluation transform published with a weight source for B0–B7 and V2-S/M/L, read from <see cref="Published"/>
    /// (docs/WEIGHTS.md, "Published weights"): torchvision's per-variant resize/crop pairs, lukemelas' resize = crop =
    /// native size, timm's crop fractions (also used for timm's PyTorch-trained format). Variants that are not B0–B7 get
    /// resize = ⌊crop/<see cref="PreprocessingRecipe.DefaultCropFraction"/>⌋ at their native resolution.
    /// </summary>
    /// <param name="format">Where the weights come from.</param>
    /// <param name="variant">The variant.</param>
    /// <param name="advProp">True for AdvProp weights (mean = std = 0.5).</param>
    public static PreprocessingRecipe RecipeFor(WeightFormat format, EfficientNetVariant variant, bool advProp = false)
    {
        ArgumentNullException.ThrowIfNull(variant);
        var (mean, std) = advProp ? (PreprocessingRecipe.AdvProp, PreprocessingRecipe.AdvProp) : (PreprocessingRecipe.ImageNetMean, PreprocessingRecipe.ImageNetStd);
        // timm's own efficientnet_* files evaluate with the crop fractions of their tf_efficientnet_* ports, but with
        // ImageNet statistics (the Lite ports' are 0.5), unless the table has the file itself (efficientnet_lite0).
        var published = Find(format, variant);
        if (published is null && format == WeightFormat.Timm && Find(WeightFormat.TimmTensorFlow, variant) is { } port)
            published = port with { Preprocessing = port.Preprocessing with { Mean = PreprocessingRecipe.ImageNetMean, Std = PreprocessingRecipe.ImageNetStd } };
        // A published recipe keeps its own statistics (V2-L's are 0.5) unless AdvProp weights ask for 0.5.
        if (published is not null) return advProp ? published.Preprocessing with { Mean = mean, Std = std } : published.Preprocessing;
        return PreprocessingRecipe.Centered(variant.Resolution, PreprocessingRecipe.DefaultCropFraction, mean, std);
    }
}
