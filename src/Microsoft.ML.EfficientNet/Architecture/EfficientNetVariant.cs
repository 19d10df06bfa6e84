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

    /// <summary>The published variants B0–B7, in order of φ.</summary>
    public static IReadOnlyList<EfficientNetVariant> Published { get; } = [B0, B1, B2, B3, B4, B5, B6, B7];

    /// <summary>The names accepted by <see cref="Parse"/> for the published variants: <c>b0</c> … <c>b7</c>.</summary>
    public static IReadOnlyList<string> PublishedNames { get; } = Published.Select(v => v.Name).ToArray();

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
    /// Finds a published variant by name. Accepts <c>b4</c>, <c>B4</c>, <c>efficientnet-b4</c>, <c>efficientnet_b4</c>
    /// and <c>tf_efficientnet_b4</c>.
    /// </summary>
    /// <param name="name">The variant's name.</param>
    /// <exception cref="ArgumentException">The name is not one of B0–B7; the message lists the valid names.</exception>
    public static EfficientNetVariant Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (TryParse(name, out var variant)) return variant;
        throw new ArgumentException(
            $"Unknown EfficientNet variant '{name}'. Valid variants: {string.Join(", ", PublishedNames)}.", nameof(name));
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
    /// <returns>True when <paramref name="name"/> names one of B0–B7.</returns>
    public static bool TryParse(string? name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out EfficientNetVariant? variant)
    {
        variant = null;
        if (string.IsNullOrWhiteSpace(name)) return false;
        string key = name.Trim().ToLowerInvariant();
        foreach (string prefix in (string[])["tf_efficientnet_", "tf_efficientnet-", "efficientnet_", "efficientnet-"])
        {
            if (key.StartsWith(prefix, StringComparison.Ordinal)) { key = key[prefix.Length..]; break; }
        }
        variant = Published.FirstOrDefault(v => v.Name == key);
        return variant is not null;
    }

    /// <summary>The name, for example <c>b4</c>.</summary>
    public override string ToString() => Name;
}
