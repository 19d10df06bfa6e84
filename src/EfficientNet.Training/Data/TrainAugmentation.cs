using Microsoft.ML.EfficientNet.Data;
using Microsoft.ML.EfficientNet.Preprocessing;

namespace EfficientNet.Training.Data;

/// <summary>
/// Training-time augmentation: a random crop (torchvision's <c>RandomResizedCrop</c>, or a zero-padded shift as in
/// small-image recipes), a random horizontal flip, a bilinear resize to <see cref="OutputSize"/> and the recipe's
/// normalisation. Evaluation never uses this: it goes through the scoring chain (<see cref="EvaluationBatches"/>).
/// </summary>
internal sealed record TrainAugmentation
{
    /// <summary>Network input side, in pixels.</summary>
    public required int OutputSize { get; init; }

    /// <summary>Per-channel mean and std applied after scaling to 0–1 (take them from the <see cref="PreprocessingRecipe"/>).</summary>
    public required RgbValues Mean { get; init; }

    /// <summary>Per-channel standard deviation.</summary>
    public required RgbValues Std { get; init; }

    /// <summary>
    /// RandomResizedCrop's area range as fractions of the image, for example (0.08, 1.0) as torchvision, or (0.25, 1.0)
    /// for small data sets. Null: no random crop (the whole image, or <see cref="ShiftPixels"/>).
    /// </summary>
    public (double Min, double Max)? CropScale { get; init; } = (0.08, 1.0);

    /// <summary>RandomResizedCrop's aspect-ratio range (log-uniform). Default (3/4, 4/3).</summary>
    public (double Min, double Max) CropRatio { get; init; } = (3.0 / 4.0, 4.0 / 3.0);

    /// <summary>
    /// When <see cref="CropScale"/> is null: pad the image with this many black pixels on each side and crop back to its
    /// size at a random offset (a random shift of up to this many pixels). 0: no shift.
    /// </summary>
    public int ShiftPixels { get; init; }

    /// <summary>Flip left–right with probability 0.5. Default true.</summary>
    public bool HorizontalFlip { get; init; } = true;

    /// <summary>
    /// Augments one image and writes it, normalised, as <see cref="OutputSize"/>² × 3 floats in HWC order (channels last).
    /// </summary>
    /// <param name="image">The decoded image.</param>
    /// <param name="random">The sample's own random source (seeded per epoch and image, so results do not depend on threading).</param>
    /// <param name="output">OutputSize × OutputSize × 3 floats.</param>
    public void Apply(RgbImage image, Random random, Span<float> output)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(random);
        int x0 = 0, y0 = 0, w = image.Width, h = image.Height;
        bool zeroOutside = false;
        if (CropScale is { } scale) (x0, y0, w, h) = RandomResizedCrop(image.Width, image.Height, scale, CropRatio, random);
        else if (ShiftPixels > 0)
        {
            x0 = random.Next(2 * ShiftPixels + 1) - ShiftPixels;
            y0 = random.Next(2 * ShiftPixels + 1) - ShiftPixels;
            zeroOutside = true;
        }
        bool flip = HorizontalFlip && random.NextDouble() < 0.5;
        ResizeCrop(image, x0, y0, w, h, zeroOutside, flip, OutputSize, Mean, Std, output);
    }

    /// <summary>torchvision's RandomResizedCrop.get_params: ten tries of area and log-uniform ratio, then a centre crop.</summary>
    internal static (int X, int Y, int W, int H) RandomResizedCrop(int width, int height, (double Min, double Max) scale, (double Min, double Max) ratio, Random random)
    {
        double area = width * (double)height;
        double logMin = Math.Log(ratio.Min), logMax = Math.Log(ratio.Max);
        for (int attempt = 0; attempt < 10; attempt++)
        {
            double target = area * (scale.Min + random.NextDouble() * (scale.Max - scale.Min));
            double aspect = Math.Exp(logMin + random.NextDouble() * (logMax - logMin));
            int w = (int)Math.Round(Math.Sqrt(target * aspect)), h = (int)Math.Round(Math.Sqrt(target / aspect));
            if (w > 0 && h > 0 && w <= width && h <= height)
                return (random.Next(width - w + 1), random.Next(height - h + 1), w, h);
        }
        // Fallback: the whole image, clamped to the ratio range, centred.
        double imageRatio = width / (double)height;
        int cw = width, ch = height;
        if (imageRatio < ratio.Min) ch = (int)Math.Round(width / ratio.Min);
        else if (imageRatio > ratio.Max) cw = (int)Math.Round(height * ratio.Max);
        return ((width - cw) / 2, (height - ch) / 2, cw, ch);
    }

    /// <summary>
    /// Crops the integer rectangle (x0, y0, w, h) (zeros outside the image when <paramref name="zeroOutside"/>, as a padded
    /// crop), resizes it to size × size with bilinear interpolation (half-pixel centres, edges clamped inside the crop:
    /// PyTorch's <c>align_corners=False</c>), optionally mirrors it, and normalises, writing HWC floats.
    /// </summary>
    internal static void ResizeCrop(RgbImage image, int x0, int y0, int w, int h, bool zeroOutside, bool flip, int size,
        RgbValues mean, RgbValues std, Span<float> output)
    {
        float[] m = mean.ToArray(), s = std.ToArray();
        var scale = new float[3];
        var shift = new float[3];
        for (int c = 0; c < 3; c++)
        {
            scale[c] = 1f / (255f * s[c]);
            shift[c] = -m[c] / s[c];
        }
        double sx = w / (double)size, sy = h / (double)size;
        var pixels = image.Pixels;
        for (int oy = 0; oy < size; oy++)
        {
            double fy = Math.Clamp((oy + 0.5) * sy - 0.5, 0, h - 1);
            int ya = (int)fy, yb = Math.Min(ya + 1, h - 1);
            double wy = fy - ya;
            for (int ox = 0; ox < size; ox++)
            {
                double fx = Math.Clamp((ox + 0.5) * sx - 0.5, 0, w - 1);
                int xa = (int)fx, xb = Math.Min(xa + 1, w - 1);
                double wx = fx - xa;
                int target = 3 * (oy * size + (flip ? size - 1 - ox : ox));
                for (int c = 0; c < 3; c++)
                {
                    double top = Sample(xa, ya, c) * (1 - wx) + Sample(xb, ya, c) * wx;
                    double bottom = Sample(xa, yb, c) * (1 - wx) + Sample(xb, yb, c) * wx;
                    output[target + c] = (float)(top * (1 - wy) + bottom * wy) * scale[c] + shift[c];
                }
            }
        }

        // Crop coordinates → image pixel; outside the image a padded crop reads black, others clamp.
        double Sample(int cx, int cy, int c)
        {
            int ix = x0 + cx, iy = y0 + cy;
            if (ix < 0 || iy < 0 || ix >= image.Width || iy >= image.Height)
            {
                if (zeroOutside) return 0;
                ix = Math.Clamp(ix, 0, image.Width - 1);
                iy = Math.Clamp(iy, 0, image.Height - 1);
            }
            return pixels[3 * (iy * image.Width + ix) + c];
        }
    }
}
