using System.Globalization;
using Microsoft.ML.EfficientNet.Architecture;

namespace Microsoft.ML.EfficientNet.Preprocessing;

/// <summary>Filter used to resize the shorter image side to <see cref="PreprocessingRecipe.ResizeSize"/>.</summary>
public enum ResizeInterpolation
{
    /// <summary>Bilinear (torchvision's B1 V2 weights).</summary>
    Bilinear,

    /// <summary>Bicubic: what the published EfficientNet weights were evaluated with.</summary>
    Bicubic,
}

/// <summary>Per-channel values in RGB order.</summary>
/// <param name="R">Red.</param>
/// <param name="G">Green.</param>
/// <param name="B">Blue.</param>
public readonly record struct RgbValues(float R, float G, float B)
{
    /// <summary>The values as an array [R, G, B].</summary>
    public float[] ToArray() => [R, G, B];

    /// <summary>Written as <c>0.485,0.456,0.406</c> (invariant culture), as stored in ONNX metadata.</summary>
    public override string ToString() => string.Join(",", ToArray().Select(v => v.ToString("R", CultureInfo.InvariantCulture)));

    /// <summary>Parses the form written by <see cref="ToString"/>, or one number meaning the same value for all three channels.</summary>
    /// <param name="text">Three comma-separated numbers (R,G,B), or one (invariant culture).</param>
    /// <exception cref="FormatException">Not one or three numbers.</exception>
    public static RgbValues Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split(',').Select(p => float.Parse(p, CultureInfo.InvariantCulture)).ToArray();
        return parts.Length == 3 ? new RgbValues(parts[0], parts[1], parts[2])
            : parts.Length == 1 ? new RgbValues(parts[0], parts[0], parts[0])
            : throw new FormatException($"Expected one value or three comma-separated values (R,G,B), got '{text}'.");
    }
}

/// <summary>
/// How images are turned into network input at evaluation: resize the shorter side to <see cref="ResizeSize"/>, crop the
/// centre <see cref="CropSize"/>×<see cref="CropSize"/>, scale 0–255 to 0–1, subtract <see cref="Mean"/>, divide by
/// <see cref="Std"/>. The single definition used by the ONNX writer, the featurizer and training-time evaluation, so there
/// is no train/serve skew. Wrong preprocessing costs whole points of accuracy (docs/WEIGHTS.md).
/// </summary>
/// <param name="ResizeSize">Shorter side after resizing, in pixels.</param>
/// <param name="CropSize">Side of the square centre crop fed to the network, in pixels.</param>
/// <param name="Mean">Per-channel mean on the 0–1 scale.</param>
/// <param name="Std">Per-channel standard deviation on the 0–1 scale.</param>
/// <param name="Interpolation">Resize filter the weights were evaluated with.</param>
public sealed record PreprocessingRecipe(int ResizeSize, int CropSize, RgbValues Mean, RgbValues Std, ResizeInterpolation Interpolation)
{
    /// <summary>ImageNet mean (0.485, 0.456, 0.406).</summary>
    public static RgbValues ImageNetMean { get; } = new(0.485f, 0.456f, 0.406f);

    /// <summary>ImageNet standard deviation (0.229, 0.224, 0.225).</summary>
    public static RgbValues ImageNetStd { get; } = new(0.229f, 0.224f, 0.225f);

    /// <summary>AdvProp weights' mean and standard deviation (0.5, 0.5, 0.5): inputs scaled to [−1, 1].</summary>
    public static RgbValues AdvProp { get; } = new(0.5f, 0.5f, 0.5f);

    /// <summary>
    /// Crop side over resize side used when no published recipe applies: 0.875 (224 of 256), torchvision's and timm's
    /// default for ImageNet evaluation.
    /// </summary>
    public const double DefaultCropFraction = 0.875;

    /// <summary>Smallest network input side, 32 pixels: the network's total stride.</summary>
    internal const int MinimumInputSize = 32;

    /// <summary>
    /// Largest network input side accepted, 2048 pixels: over three times B7's 600, and small enough that one image's
    /// tensors (side² × channels × 4 bytes) stay far from the 2 GB an array may hold. Metadata, options and flags claiming
    /// more are refused.
    /// </summary>
    internal const int MaximumInputSize = 2048;

    /// <summary>A centre-crop recipe: resize to ⌊crop/cropFraction⌋, crop <paramref name="cropSize"/>, ImageNet statistics by default.</summary>
    /// <param name="cropSize">Network input side, in pixels.</param>
    /// <param name="cropFraction">Crop side over resize side, in (0, 1]; 1 means no crop.</param>
    /// <param name="mean">Per-channel mean; default ImageNet.</param>
    /// <param name="std">Per-channel standard deviation; default ImageNet.</param>
    public static PreprocessingRecipe Centered(int cropSize, double cropFraction = DefaultCropFraction, RgbValues? mean = null, RgbValues? std = null)
    {
        if (cropSize < 1) throw new ArgumentOutOfRangeException(nameof(cropSize), cropSize, "Crop size must be positive.");
        if (!(cropFraction > 0 && cropFraction <= 1)) throw new ArgumentOutOfRangeException(nameof(cropFraction), cropFraction, "Crop fraction must be in (0, 1].");
        return new((int)Math.Floor(cropSize / cropFraction), cropSize, mean ?? ImageNetMean, std ?? ImageNetStd, ResizeInterpolation.Bicubic);
    }

    /// <summary>The same recipe for another network input size, keeping the crop fraction (for reduced-resolution use).</summary>
    /// <param name="cropSize">New network input side, in pixels.</param>
    public PreprocessingRecipe WithCropSize(int cropSize) => cropSize == CropSize ? this
        : this with { CropSize = cropSize, ResizeSize = (int)Math.Round(cropSize * (double)ResizeSize / CropSize) };

    /// <summary>
    /// Per-channel multiplier and offset that turn 0–255 pixels into network input in one multiply-add:
    /// x·(1/(255·std)) + (−mean/std), rounded to float32 once. The ONNX graph and <see cref="Normalize"/> use exactly these
    /// numbers, so both produce bit-identical input.
    /// </summary>
    public (float[] Scale, float[] Shift) NormalizationConstants()
    {
        float[] mean = Mean.ToArray(), std = Std.ToArray();
        var scale = new float[3];
        var shift = new float[3];
        for (int c = 0; c < 3; c++)
        {
            scale[c] = (float)(1.0 / (255.0 * std[c]));
            shift[c] = (float)(-mean[c] / (double)std[c]);
        }
        return (scale, shift);
    }

    /// <summary>
    /// Centre-crops planar RGB 0–255 pixels of the <see cref="ResizeSize"/> square (what ML.NET's <c>ResizeImages</c> with
    /// <c>IsoCrop</c> and <c>ExtractPixels</c> give) to <see cref="CropSize"/> and normalises them, exactly as the exported
    /// ONNX model does in its graph.
    /// </summary>
    /// <param name="pixels">3 × resize × resize values, planar RGB, 0–255.</param>
    /// <param name="output">3 × crop × crop values, planar RGB, normalised.</param>
    public void Normalize(ReadOnlySpan<float> pixels, Span<float> output)
    {
        int resize = ResizeSize, crop = CropSize, offset = CropOffset;
        if (pixels.Length != 3 * resize * resize) throw new ArgumentException($"Expected {3 * resize * resize} pixel values (3×{resize}×{resize}), got {pixels.Length}.", nameof(pixels));
        if (output.Length != 3 * crop * crop) throw new ArgumentException($"Expected room for {3 * crop * crop} values (3×{crop}×{crop}), got {output.Length}.", nameof(output));
        var (scale, shift) = NormalizationConstants();
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < crop; y++)
            {
                var source = pixels.Slice((c * resize + y + offset) * resize + offset, crop);
                var target = output.Slice((c * crop + y) * crop, crop);
                for (int x = 0; x < crop; x++)
                {
                    float scaled = source[x] * scale[c];
                    target[x] = scaled + shift[c];
                }
            }
    }

    /// <summary>
    /// Offset of the centre crop from the top-left corner of the <see cref="ResizeSize"/> square, as torchvision's
    /// <c>CenterCrop</c> computes it: round((resize − crop)/2) with ties to even.
    /// </summary>
    public int CropOffset => (int)Math.Round((ResizeSize - CropSize) / 2.0, MidpointRounding.ToEven);
}
