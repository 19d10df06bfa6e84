namespace Microsoft.ML.EfficientNet.Architecture;

/// <summary>
/// The paper's compound scaling (section 3.3): depth d = α^φ, width w = β^φ, resolution r = γ^φ with
/// α·β²·γ² ≈ 2, so that each unit of φ roughly doubles the FLOPs. Also the rounding rules every implementation shares.
/// </summary>
internal static class CompoundScaling
{
    /// <summary>Depth coefficient α found by grid search on B0 at φ = 1.</summary>
    public const double Alpha = 1.2;

    /// <summary>Width coefficient β found by grid search on B0 at φ = 1.</summary>
    public const double Beta = 1.1;

    /// <summary>Resolution coefficient γ found by grid search on B0 at φ = 1.</summary>
    public const double Gamma = 1.15;

    /// <summary>The baseline input resolution, in pixels, that γ^φ multiplies.</summary>
    public const int BaselineResolution = 224;

    /// <summary>Depth multiplier α^φ.</summary>
    /// <param name="phi">Compound coefficient φ ≥ 0.</param>
    public static double DepthMultiplier(double phi) => Math.Pow(Alpha, CheckPhi(phi));

    /// <summary>Width multiplier β^φ.</summary>
    /// <param name="phi">Compound coefficient φ ≥ 0.</param>
    public static double WidthMultiplier(double phi) => Math.Pow(Beta, CheckPhi(phi));

    /// <summary>Input resolution 224·γ^φ rounded to the nearest pixel.</summary>
    /// <param name="phi">Compound coefficient φ ≥ 0.</param>
    public static int Resolution(double phi) => (int)Math.Round(BaselineResolution * Math.Pow(Gamma, CheckPhi(phi)));

    /// <summary>
    /// Dropout before the classifier for a compound coefficient: 0.2 + 0.1·⌊φ/2⌋, at most 0.5.
    /// This reproduces the published B0–B7 values (0.2, 0.2, 0.3, 0.3, 0.4, 0.4, 0.5, 0.5) at φ = 0…7.
    /// </summary>
    /// <param name="phi">Compound coefficient φ ≥ 0.</param>
    public static double Dropout(double phi) => Math.Min(0.5, 0.2 + 0.1 * Math.Floor(CheckPhi(phi) / 2));

    /// <summary>
    /// Scales a channel count by a width multiplier and rounds it to a multiple of <paramref name="divisor"/>,
    /// never below the divisor and never more than 10 % below the unrounded value (the reference implementations' rule).
    /// </summary>
    /// <param name="channels">Channel count at width 1.0.</param>
    /// <param name="widthMultiplier">Width multiplier w &gt; 0.</param>
    /// <param name="divisor">Rounding divisor; 8 in every EfficientNet.</param>
    /// <returns>The rounded channel count.</returns>
    public static int RoundFilters(int channels, double widthMultiplier, int divisor = EfficientNetBaseline.ChannelDivisor)
    {
        if (channels <= 0) throw new ArgumentOutOfRangeException(nameof(channels), channels, "Channel count must be positive.");
        if (!(widthMultiplier > 0)) throw new ArgumentOutOfRangeException(nameof(widthMultiplier), widthMultiplier, "Width multiplier must be positive.");
        if (divisor <= 0) throw new ArgumentOutOfRangeException(nameof(divisor), divisor, "Divisor must be positive.");
        double scaled = channels * widthMultiplier;
        int rounded = Math.Max(divisor, (int)(scaled + divisor / 2.0) / divisor * divisor);
        if (rounded < 0.9 * scaled) rounded += divisor;
        return rounded;
    }

    /// <summary>Scales a stage's block count by a depth multiplier, rounding up.</summary>
    /// <param name="repeats">Block count at depth 1.0.</param>
    /// <param name="depthMultiplier">Depth multiplier d &gt; 0.</param>
    /// <returns>⌈d·repeats⌉.</returns>
    public static int RoundRepeats(int repeats, double depthMultiplier)
    {
        if (repeats <= 0) throw new ArgumentOutOfRangeException(nameof(repeats), repeats, "Repeat count must be positive.");
        if (!(depthMultiplier > 0)) throw new ArgumentOutOfRangeException(nameof(depthMultiplier), depthMultiplier, "Depth multiplier must be positive.");
        // The product is computed in double precision exactly as the reference implementations do (1.1·2 = 2.2 → 3).
        return (int)Math.Ceiling(repeats * depthMultiplier);
    }

    private static double CheckPhi(double phi) =>
        phi >= 0 && double.IsFinite(phi)
            ? phi
            : throw new ArgumentOutOfRangeException(nameof(phi), phi, "The compound coefficient φ must be a finite number ≥ 0.");
}
