using System.Globalization;

namespace Microsoft.ML.EfficientNet.Architecture;

/// <summary>
/// A member of the EfficientNet family: the width, depth and resolution that scale the B0 baseline, and the dropout
/// before the classifier. B1–B7 use the hand-rounded coefficients the paper published, not exact powers of φ.
/// </summary>
/// <param name="Name">Short name, for example <c>b4</c>, used in messages, file names and ONNX metadata.</param>
/// <param name="WidthMultiplier">Channel multiplier w applied by <see cref="CompoundScaling.RoundFilters"/>.</param>
/// <param name="DepthMultiplier">Block-count multiplier d applied by <see cref="CompoundScaling.RoundRepeats"/>.</param>
/// <param name="Resolution">Native input side, in pixels (square input).</param>
/// <param name="Dropout">Dropout probability before the classifier during training.</param>
public sealed record EfficientNetVariant(string Name, double WidthMultiplier, double DepthMultiplier, int Resolution, double Dropout)
{
    /// <summary>EfficientNet-B0: w 1.0, d 1.0, 224 px, dropout 0.2.</summary>
    public static EfficientNetVariant B0 { get; } = new("b0", 1.0, 1.0, 224, 0.2);

    /// <summary>EfficientNet-B1: w 1.0, d 1.1, 240 px, dropout 0.2.</summary>
    public static EfficientNetVariant B1 { get; } = new("b1", 1.0, 1.1, 240, 0.2);

    /// <summary>EfficientNet-B2: w 1.1, d 1.2, 260 px, dropout 0.3.</summary>
    public static EfficientNetVariant B2 { get; } = new("b2", 1.1, 1.2, 260, 0.3);

    /// <summary>EfficientNet-B3: w 1.2, d 1.4, 300 px, dropout 0.3.</summary>
    public static EfficientNetVariant B3 { get; } = new("b3", 1.2, 1.4, 300, 0.3);

    /// <summary>EfficientNet-B4: w 1.4, d 1.8, 380 px, dropout 0.4.</summary>
    public static EfficientNetVariant B4 { get; } = new("b4", 1.4, 1.8, 380, 0.4);

    /// <summary>EfficientNet-B5: w 1.6, d 2.2, 456 px, dropout 0.4.</summary>
    public static EfficientNetVariant B5 { get; } = new("b5", 1.6, 2.2, 456, 0.4);

    /// <summary>EfficientNet-B6: w 1.8, d 2.6, 528 px, dropout 0.5.</summary>
    public static EfficientNetVariant B6 { get; } = new("b6", 1.8, 2.6, 528, 0.5);

    /// <summary>EfficientNet-B7: w 2.0, d 3.1, 600 px, dropout 0.5.</summary>
    public static EfficientNetVariant B7 { get; } = new("b7", 2.0, 3.1, 600, 0.5);

    /// <summary>EfficientNetV2-S (torchvision <c>efficientnet_v2_s</c>): own stage table, 384 px, dropout 0.2.</summary>
    public static EfficientNetVariant V2S { get; } = new("v2-s", 1.0, 1.0, 384, 0.2) { Stages = EfficientNetV2Baseline.SmallStages };

    /// <summary>EfficientNetV2-M (torchvision <c>efficientnet_v2_m</c>): own stage table, 480 px, dropout 0.3.</summary>
    public static EfficientNetVariant V2M { get; } = new("v2-m", 1.0, 1.0, 480, 0.3) { Stages = EfficientNetV2Baseline.MediumStages };

    /// <summary>EfficientNetV2-L (torchvision <c>efficientnet_v2_l</c>): own stage table, 480 px, dropout 0.4.</summary>
    public static EfficientNetVariant V2L { get; } = new("v2-l", 1.0, 1.0, 480, 0.4) { Stages = EfficientNetV2Baseline.LargeStages };

    /// <summary>The EfficientNetV2 variants S, M, L.</summary>
    public static IReadOnlyList<EfficientNetVariant> V2 { get; } = [V2S, V2M, V2L];

    /// <summary>EfficientNet-Lite0 (timm <c>efficientnet_lite0</c>): B0 without squeeze-and-excitation, ReLU6, 224 px, dropout 0.2.</summary>
    public static EfficientNetVariant Lite0 { get; } = EfficientNetLiteBaseline.Variant("lite0", 1.0, 1.0, 224, 0.2);

    /// <summary>EfficientNet-Lite1: w 1.0, d 1.1, 240 px, dropout 0.2.</summary>
    public static EfficientNetVariant Lite1 { get; } = EfficientNetLiteBaseline.Variant("lite1", 1.0, 1.1, 240, 0.2);

    /// <summary>EfficientNet-Lite2: w 1.1, d 1.2, 260 px, dropout 0.3.</summary>
    public static EfficientNetVariant Lite2 { get; } = EfficientNetLiteBaseline.Variant("lite2", 1.1, 1.2, 260, 0.3);

    /// <summary>EfficientNet-Lite3: w 1.2, d 1.4, 280 px, dropout 0.3.</summary>
    public static EfficientNetVariant Lite3 { get; } = EfficientNetLiteBaseline.Variant("lite3", 1.2, 1.4, 280, 0.3);

    /// <summary>EfficientNet-Lite4: w 1.4, d 1.8, 300 px, dropout 0.3.</summary>
    public static EfficientNetVariant Lite4 { get; } = EfficientNetLiteBaseline.Variant("lite4", 1.4, 1.8, 300, 0.3);

    /// <summary>The EfficientNet-Lite variants Lite0–Lite4, for integer CPUs: no squeeze-and-excitation, ReLU6.</summary>
    public static IReadOnlyList<EfficientNetVariant> Lite { get; } = [Lite0, Lite1, Lite2, Lite3, Lite4];

    /// <summary>SiLU (B series, V2) or ReLU6 (Lite).</summary>
    internal ActivationKind Activation { get; init; } = ActivationKind.SiLU;

    /// <summary>False for Lite: the stem (32) and head (1280) keep their width at every width multiplier.</summary>
    internal bool ScalesStemAndHead { get; init; } = true;

    /// <summary>False for Lite: the first and last stages keep their block count at every depth multiplier.</summary>
    internal bool ScalesFirstAndLastStages { get; init; } = true;

    /// <summary>True for an EfficientNet-Lite variant (ReLU6, no squeeze-and-excitation).</summary>
    public bool IsLite => Activation == ActivationKind.ReLU6;

    /// <summary>
    /// The stage table this variant scales by <see cref="WidthMultiplier"/> and <see cref="DepthMultiplier"/>:
    /// <see cref="EfficientNetBaseline.Stages"/> for B0–B7, φ and custom variants; one of
    /// <see cref="EfficientNetV2Baseline"/>'s tables for V2.
    /// </summary>
    internal IReadOnlyList<MBConvStage> Stages { get; init; } = EfficientNetBaseline.Stages;

    /// <summary>True for an EfficientNetV2 variant (a stage table with Fused-MBConv stages).</summary>
    public bool IsV2 => Stages.Any(s => s.Kind == MBConvKind.FusedMBConv);

    /// <summary>The published variants B0–B7, in order of φ.</summary>
    public static IReadOnlyList<EfficientNetVariant> Published { get; } = [B0, B1, B2, B3, B4, B5, B6, B7];

    /// <summary>The names accepted by <see cref="Parse"/> for the published variants: <c>b0</c> … <c>b7</c>.</summary>
    public static IReadOnlyList<string> PublishedNames { get; } = Published.Select(v => v.Name).ToArray();

    /// <summary>Every named variant <see cref="Parse"/> accepts: B0–B7, then V2-S, V2-M, V2-L, then Lite0–Lite4.</summary>
    public static IReadOnlyList<EfficientNetVariant> Named { get; } = [.. Published, .. V2, .. Lite];

    /// <summary>True for B0–B7 exactly as published; false for variants made by <see cref="FromPhi"/> or <see cref="Custom"/>.</summary>
    public bool IsPublished => Published.Contains(this);

    /// <summary>
    /// A variant from the paper's compound-scaling rule for any φ ≥ 0: w = 1.1^φ, d = 1.2^φ, resolution 224·1.15^φ
    /// (nearest pixel) and dropout from <see cref="CompoundScaling.Dropout"/>. φ = 0 gives B0 exactly; larger whole
    /// values differ from B1–B7, whose coefficients the authors rounded by hand.
    /// </summary>
    /// <param name="phi">Compound coefficient φ ≥ 0.</param>
    /// <returns>A variant named <c>phi-2.5</c> for φ = 2.5.</returns>
    public static EfficientNetVariant FromPhi(double phi) => new(
        "phi-" + phi.ToString("0.###", CultureInfo.InvariantCulture),
        CompoundScaling.WidthMultiplier(phi),
        CompoundScaling.DepthMultiplier(phi),
        CompoundScaling.Resolution(phi),
        CompoundScaling.Dropout(phi));

    /// <summary>A variant with freely chosen multipliers, for example for small images or a tight compute budget.</summary>
    /// <param name="width">Width multiplier &gt; 0.</param>
    /// <param name="depth">Depth multiplier &gt; 0.</param>
    /// <param name="resolution">Native input side in pixels, at least 32.</param>
    /// <param name="dropout">Dropout before the classifier in [0, 1); default 0.2.</param>
    /// <param name="name">Name for messages and metadata; default <c>w{width}-d{depth}-r{resolution}</c>.</param>
    public static EfficientNetVariant Custom(double width, double depth, int resolution, double dropout = 0.2, string? name = null)
    {
        if (!(width > 0) || !double.IsFinite(width)) throw new ArgumentOutOfRangeException(nameof(width), width, "Width multiplier must be a finite number > 0.");
        if (!(depth > 0) || !double.IsFinite(depth)) throw new ArgumentOutOfRangeException(nameof(depth), depth, "Depth multiplier must be a finite number > 0.");
        if (resolution < 32) throw new ArgumentOutOfRangeException(nameof(resolution), resolution, "Resolution must be at least 32 pixels (the network's total stride).");
        if (!(dropout >= 0 && dropout < 1)) throw new ArgumentOutOfRangeException(nameof(dropout), dropout, "Dropout must be in [0, 1).");
        name ??= string.Create(CultureInfo.InvariantCulture, $"w{width:0.###}-d{depth:0.###}-r{resolution}");
        return new EfficientNetVariant(name, width, depth, resolution, dropout);
    }

    /// <summary>
    /// Finds a named variant. Accepts <c>b4</c>, <c>B4</c>, <c>efficientnet-b4</c>, <c>efficientnet_b4</c> and
    /// <c>tf_efficientnet_b4</c>; for V2 <c>v2-s</c>, <c>v2_s</c>, <c>efficientnet_v2_s</c>, <c>efficientnetv2_s</c> and
    /// <c>tf_efficientnetv2_s</c> (likewise m, l); for Lite <c>lite0</c>, <c>efficientnet_lite0</c>, <c>efficientnet-lite0</c>
    /// and <c>tf_efficientnet_lite0</c> (likewise 1–4).
    /// </summary>
    /// <param name="name">The variant's name.</param>
    /// <exception cref="ArgumentException">The name is not one of B0–B7, V2-S/M/L or Lite0–Lite4; the message lists the valid names.</exception>
    public static EfficientNetVariant Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (TryParse(name, out var variant)) return variant;
        throw new ArgumentException(
            $"Unknown EfficientNet variant '{name}'. Valid variants: {string.Join(", ", Named.Select(v => v.Name))}.", nameof(name));
    }

    /// <summary>
    /// The published variant named <paramref name="name"/>, through <see cref="Parse"/>, so that options typed as a
    /// variant also take its name: <c>Variant = "b4"</c>.
    /// </summary>
    /// <param name="name">The variant's name, as <see cref="Parse"/> accepts it.</param>
    /// <exception cref="ArgumentException">The name is not one of B0–B7; the message lists the valid names.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is null.</exception>
    public static implicit operator EfficientNetVariant(string name) => Parse(name);

    /// <summary>Like <see cref="Parse"/>, without throwing.</summary>
    /// <param name="name">The variant's name.</param>
    /// <param name="variant">The variant when found.</param>
    /// <returns>True when <paramref name="name"/> names one of B0–B7, V2-S/M/L or Lite0–Lite4.</returns>
    public static bool TryParse(string? name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out EfficientNetVariant? variant)
    {
        variant = null;
        if (string.IsNullOrWhiteSpace(name)) return false;
        string key = name.Trim().ToLowerInvariant();
        foreach (string prefix in (string[])["tf_efficientnetv2_", "efficientnetv2_", "efficientnetv2-", "tf_efficientnet_", "tf_efficientnet-", "efficientnet_", "efficientnet-"])
        {
            if (key.StartsWith(prefix, StringComparison.Ordinal))
            {
                // timm writes V2 as efficientnetv2_s: the prefix swallowed the "v2".
                key = (prefix.Contains("v2", StringComparison.Ordinal) ? "v2-" : "") + key[prefix.Length..];
                break;
            }
        }
        key = key.Replace('_', '-');
        variant = Named.FirstOrDefault(v => v.Name == key);
        return variant is not null;
    }

    /// <summary>The name, for example <c>b4</c>.</summary>
    public override string ToString() => Name;
}
