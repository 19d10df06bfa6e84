using System.Globalization;
using Microsoft.ML.EfficientNet.Onnx;
using Microsoft.ML.EfficientNet.Preprocessing;
using Microsoft.ML.EfficientNet.Drawing;
using SkiaSharp;

namespace Microsoft.ML.EfficientNet.Explain;

/// <summary>
/// The class activation map (CAM, Zhou et al. 2016) of one class for one image: where in the image the evidence for that
/// class lies. EfficientNet ends in a global average pool and one linear layer, so the map is exact, not an estimate:
/// CAM_c(y, x) = Σ_k W[c, k]·A_k(y, x) + b_c, with A the last feature map (the head's 1×1 conv + BN + SiLU, before the
/// pool), and the mean of the map over (y, x) equals the class's logit. It is computed from ONNX Runtime's forward pass
/// and the classifier's initializers; no gradients are involved.
/// </summary>
/// <remarks>
/// The map covers the centre crop the network saw, not the whole image: the image's shorter side is scaled to the
/// recipe's resize size, the centre square kept, and its centre crop-size square fed to the network
/// (<see cref="SeenRegion"/>). <see cref="RenderPng(string)"/> overlays the map on that region of the original image and
/// dims the rest.
/// </remarks>
public sealed class ClassActivationMap
{
    private readonly float[,] _values;

    internal ClassActivationMap(float[,] values, int classIndex, string label, float score, float logit, PreprocessingRecipe preprocessing)
    {
        _values = values;
        ClassIndex = classIndex;
        Label = label;
        Score = score;
        Logit = logit;
        Preprocessing = preprocessing;
    }

    /// <summary>EfficientNet's total stride: the last feature map has one cell per this many input pixels in each direction.</summary>
    public const int Stride = 32;

    /// <summary>Fewest rows and columns a map needs to say where in the image the evidence lies: 3 (a 1×1 or 2×2 map cannot).</summary>
    public const int MinimumUsefulCells = 3;

    /// <summary>Rows of the map: the last feature map's height (input side / 32, rounded up, for EfficientNet).</summary>
    public int Height => _values.GetLength(0);

    /// <summary>Columns of the map.</summary>
    public int Width => _values.GetLength(1);

    /// <summary>Index of the class the map explains, in logit order.</summary>
    public int ClassIndex { get; }

    /// <summary>That class's label (its index as text when the model records no labels).</summary>
    public string Label { get; }

    /// <summary>That class's softmax probability for the image, in [0, 1].</summary>
    public float Score { get; }

    /// <summary>That class's logit as ONNX Runtime computed it; equals the mean of <see cref="Values"/> to float rounding.</summary>
    public float Logit { get; }

    /// <summary>The model's preprocessing, which fixes the region of the image the map covers (<see cref="SeenRegion"/>).</summary>
    public PreprocessingRecipe Preprocessing { get; }

    /// <summary>
    /// Why this map says little about where the evidence lies, or null when it has at least
    /// <see cref="MinimumUsefulCells"/> × <see cref="MinimumUsefulCells"/> cells (<see cref="CoarseMapWarning"/>).
    /// </summary>
    public string? Warning => Height < MinimumUsefulCells || Width < MinimumUsefulCells ? CoarseMapWarning(Height, Width, Preprocessing.CropSize) : null;

    /// <summary>
    /// The warning for maps of <paramref name="height"/> × <paramref name="width"/> cells from a network input of
    /// <paramref name="inputSize"/> pixels: how many cells, why (input ÷ 32), and which input size gives a useful map.
    /// </summary>
    /// <param name="height">Rows of the map.</param>
    /// <param name="width">Columns of the map.</param>
    /// <param name="inputSize">The network input side (the recipe's crop size), in pixels.</param>
    public static string CoarseMapWarning(int height, int width, int inputSize)
    {
        int useful = (MinimumUsefulCells - 1) * Stride + 1, rounded = (useful + Stride - 1) / Stride * Stride;
        return string.Create(CultureInfo.InvariantCulture,
            $"The class activation maps have {height}×{width} cell{(height * width == 1 ? "" : "s")}: the last feature map is the {inputSize} px input ÷ {Stride} " +
            $"(rounded up), so a map this coarse cannot show where in the image the evidence lies{(height * width == 1 ? " (one value: the overlay is one flat colour)" : "")}. " +
            $"A model trained or exported at {rounded} px or more gives at least {MinimumUsefulCells}×{MinimumUsefulCells} cells (224 px: 7×7).");
    }

    /// <summary>A copy of the map in logit units, [<see cref="Height"/>, <see cref="Width"/>], row 0 at the top of the crop.</summary>
    public float[,] Values => (float[,])_values.Clone();

    /// <summary>The mean of the map over all cells: the class's logit, recomputed from the map.</summary>
    public double Mean
    {
        get
        {
            double sum = 0;
            foreach (float v in _values) sum += v;
            return sum / _values.Length;
        }
    }

    /// <summary>The map scaled to [0, 1]: (v − min)/(max − min); all zeros when the map is constant.</summary>
    public float[,] Normalized()
    {
        float min = float.MaxValue, max = float.MinValue;
        foreach (float v in _values)
        {
            min = Math.Min(min, v);
            max = Math.Max(max, v);
        }
        var result = new float[Height, Width];
        if (!(max > min)) return result;
        for (int y = 0; y < Height; y++)
            for (int x = 0; x < Width; x++) result[y, x] = (_values[y, x] - min) / (max - min);
        return result;
    }

    /// <summary>
    /// The normalised map (<see cref="Normalized"/>) resized bilinearly to <paramref name="height"/> × <paramref name="width"/>
    /// pixels, cell centres at pixel centres (as <c>align_corners=False</c>), edges clamped.
    /// </summary>
    /// <param name="height">Rows of the result, at least 1.</param>
    /// <param name="width">Columns of the result, at least 1.</param>
    public float[,] Upsampled(int height, int width)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        var map = Normalized();
        var result = new float[height, width];
        for (int py = 0; py < height; py++)
        {
            double v = Math.Clamp((py + 0.5) * Height / height - 0.5, 0, Height - 1);
            int y0 = (int)v, y1 = Math.Min(y0 + 1, Height - 1);
            double fy = v - y0;
            for (int px = 0; px < width; px++)
            {
                double u = Math.Clamp((px + 0.5) * Width / width - 0.5, 0, Width - 1);
                int x0 = (int)u, x1 = Math.Min(x0 + 1, Width - 1);
                double fx = u - x0;
                double top = map[y0, x0] * (1 - fx) + map[y0, x1] * fx, bottom = map[y1, x0] * (1 - fx) + map[y1, x1] * fx;
                result[py, px] = (float)(top * (1 - fy) + bottom * fy);
            }
        }
        return result;
    }

    /// <summary>
    /// The square of an image of <paramref name="imageWidth"/> × <paramref name="imageHeight"/> pixels that the network saw
    /// under <paramref name="preprocessing"/>, in the image's pixels: ML.NET's <c>ResizeImages(IsoCrop, Center)</c> keeps
    /// the centre square of side min(width, height), scaled to the resize size, and the network takes its centre
    /// crop-size square. Rounded to whole pixels, so it may be off by one pixel from ML.NET's resampling.
    /// </summary>
    /// <param name="imageWidth">Image width in pixels, at least 1.</param>
    /// <param name="imageHeight">Image height in pixels, at least 1.</param>
    /// <param name="preprocessing">The model's resize and crop.</param>
    /// <returns>Left and top offsets and the side of the square, in pixels.</returns>
    public static (int Left, int Top, int Side) SeenRegion(int imageWidth, int imageHeight, PreprocessingRecipe preprocessing)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(imageWidth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(imageHeight, 1);
        ArgumentNullException.ThrowIfNull(preprocessing);
        double shorter = Math.Min(imageWidth, imageHeight), scale = shorter / preprocessing.ResizeSize;
        int side = Math.Max(1, (int)Math.Round(preprocessing.CropSize * scale));
        int left = (int)Math.Round((imageWidth - shorter) / 2 + preprocessing.CropOffset * scale);
        int top = (int)Math.Round((imageHeight - shorter) / 2 + preprocessing.CropOffset * scale);
        return (Math.Clamp(left, 0, imageWidth - 1), Math.Clamp(top, 0, imageHeight - 1), Math.Min(side, Math.Min(imageWidth, imageHeight)));
    }

    /// <summary>
    /// Draws the map over the image it was computed from, as PNG bytes of the image's own size: the map, upsampled
    /// bilinearly to <see cref="SeenRegion"/>, coloured with <see cref="CamColormap"/> (inferno) and blended at 55 %
    /// over that region; the rest of the image dimmed; the label and score as a caption at the top left, scaled down (and
    /// split into label and score lines) to fit within the image, however small or narrow (<see cref="Caption"/>).
    /// </summary>
    /// <param name="imagePath">The image file the map was computed from.</param>
    /// <exception cref="InvalidDataException">The file cannot be decoded as an image; the message names it.</exception>
    public byte[] RenderPng(string imagePath)
    {
        ArgumentException.ThrowIfNullOrEmpty(imagePath);
        using var bitmap = SKBitmap.Decode(imagePath)
            ?? throw new InvalidDataException($"'{imagePath}' could not be decoded as an image (empty, damaged or not an image file).");
        return Render(bitmap);
    }

    /// <summary>As <see cref="RenderPng(string)"/>, from the image's encoded bytes (JPEG, PNG, BMP, GIF, WebP).</summary>
    /// <param name="encodedImage">The image file's contents.</param>
    /// <exception cref="InvalidDataException">The bytes cannot be decoded as an image.</exception>
    public byte[] RenderPng(byte[] encodedImage)
    {
        ArgumentNullException.ThrowIfNull(encodedImage);
        using var bitmap = SKBitmap.Decode(encodedImage)
            ?? throw new InvalidDataException($"The {encodedImage.Length:N0} bytes given could not be decoded as an image.");
        return Render(bitmap);
    }

    /// <summary>Renders as <see cref="RenderPng(string)"/> and writes the PNG to <paramref name="outputPath"/> atomically.</summary>
    /// <param name="imagePath">The image file the map was computed from.</param>
    /// <param name="outputPath">The .png file to write; its folder must exist.</param>
    public void SavePng(string imagePath, string outputPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(outputPath);
        IO.AtomicFile.WriteAllBytes(outputPath, RenderPng(imagePath));
    }

    private byte[] Render(SKBitmap image)
    {
        int width = image.Width, height = image.Height;
        var (left, top, side) = SeenRegion(width, height, Preprocessing);
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul);
        using var surface = SKSurface.Create(info);
        var canvas = surface.Canvas;
        canvas.DrawBitmap(image, 0, 0);

        var region = new SKRect(left, top, left + side, top + side);
        using (var dim = new SKPaint { Color = new SKColor(0, 0, 0, 140), Style = SKPaintStyle.Fill })
        {
            canvas.Save();
            canvas.ClipRect(region, SKClipOperation.Difference);
            canvas.DrawRect(new SKRect(0, 0, width, height), dim);
            canvas.Restore();
        }

        var heat = Upsampled(side, side);
        using (var overlay = new SKBitmap(new SKImageInfo(side, side, SKColorType.Rgba8888, SKAlphaType.Unpremul)))
        {
            const byte alpha = 140; // 55 %
            var pixels = new byte[side * side * 4];
            for (int y = 0; y < side; y++)
                for (int x = 0; x < side; x++)
                {
                    var (r, g, b) = CamColormap.Inferno(heat[y, x]);
                    int i = 4 * (y * side + x);
                    (pixels[i], pixels[i + 1], pixels[i + 2], pixels[i + 3]) = (r, g, b, alpha);
                }
            System.Runtime.InteropServices.Marshal.Copy(pixels, 0, overlay.GetPixels(), pixels.Length);
            canvas.DrawBitmap(overlay, left, top);
        }

        var caption = Caption(Label, Score, width, height);
        using var text = ChartDrawing.Text(caption.FontSize, SKColors.White);
        using (var box = new SKPaint { Color = new SKColor(0, 0, 0, 190), Style = SKPaintStyle.Fill })
            canvas.DrawRect(caption.Box, box);
        for (int i = 0; i < caption.Lines.Count; i++)
            canvas.DrawText(caption.Lines[i], caption.Padding, caption.Padding + caption.FontSize * (i * LineSpacing + 0.95f), text);

        return ChartDrawing.EncodePng(surface);
    }

    private const float LineSpacing = 1.2f;

    /// <summary>How a caption is laid out: its lines, font size, padding and the box behind it, in the image's pixels.</summary>
    /// <param name="Lines">One line (<c>label score</c>), or the label and the score on two.</param>
    /// <param name="FontSize">Text size in pixels.</param>
    /// <param name="Padding">Space between the box's edge and the text.</param>
    /// <param name="Box">The box drawn behind the text, from the top-left corner.</param>
    /// <param name="TextWidth">The widest line as drawn, in pixels.</param>
    internal readonly record struct CaptionLayout(IReadOnlyList<string> Lines, float FontSize, float Padding, SKRect Box, float TextWidth);

    /// <summary>
    /// The caption of a map on an image of <paramref name="width"/> × <paramref name="height"/> pixels: at most 40 px
    /// high and about a 14th of the shorter side, shrunk until the widest line plus padding fits the width and the box
    /// at most half the height; split into a label line and a score line when that gives larger text.
    /// </summary>
    internal static CaptionLayout Caption(string label, float score, int width, int height)
    {
        string scoreText = score.ToString("P1", CultureInfo.InvariantCulture);
        float preferred = Math.Clamp(Math.Min(width, height) / 14f, 8f, 40f);
        CaptionLayout best = default;
        foreach (string[] lines in (string[][])[[$"{label} {scoreText}"], [label, scoreText]])
        {
            // Text width grows about in proportion to the font size: estimate from a 100 px measurement, then shrink until
            // the text as drawn fits (hinting rounds small sizes). Padding is a quarter of the size on each side.
            const float reference = 100f;
            using (var measure = ChartDrawing.Text(reference))
            {
                float perPixel = lines.Max(l => measure.MeasureText(l)) / reference;
                float byWidth = width / (perPixel + 0.5f), byHeight = height / 2f / (lines.Length * LineSpacing + 0.5f);
                float size = Math.Min(preferred, Math.Min(byWidth, byHeight));
                for (; ; size *= 0.95f)
                {
                    using var paint = ChartDrawing.Text(size);
                    float textWidth = lines.Max(l => paint.MeasureText(l)), pad = size / 4;
                    if (textWidth + 2 * pad > width && size > 0.5f) continue;
                    if (best.Lines is null || size > best.FontSize)
                        best = new CaptionLayout(lines, size, pad, new SKRect(0, 0, textWidth + 2 * pad, lines.Length * LineSpacing * size + 2 * pad), textWidth);
                    break;
                }
            }
        }
        return best;
    }

    /// <summary>
    /// CAM_c = Σ_k W[c, k]·A_k + b_c for each cell of one image's feature map (<paramref name="featureMap"/>: channels ×
    /// height × width floats, CHW), in double precision.
    /// </summary>
    internal static float[,] Compute(ReadOnlySpan<float> featureMap, int channels, int height, int width, ClassifierHead head, int classIndex)
    {
        if (channels != head.Channels)
            throw new ArgumentException($"The feature map has {channels} channels but the classifier takes {head.Channels}.", nameof(featureMap));
        var weights = head.Weight.AsSpan(classIndex * channels, channels);
        var sums = new double[height * width];
        Array.Fill(sums, head.Bias[classIndex]);
        int cells = height * width;
        for (int k = 0; k < channels; k++)
        {
            double w = weights[k];
            var plane = featureMap.Slice(k * cells, cells);
            for (int i = 0; i < cells; i++) sums[i] += w * plane[i];
        }
        var map = new float[height, width];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++) map[y, x] = (float)sums[y * width + x];
        return map;
    }
}

/// <summary>
/// The colormap class activation maps are drawn with: matplotlib's <c>inferno</c> (perceptually uniform, readable in
/// grayscale and by colour-blind readers), approximated by linear interpolation between nine of its colours, sampled at
/// 0, 1/8, …, 1.
/// </summary>
internal static class CamColormap
{
    private static readonly (byte R, byte G, byte B)[] Stops =
    [
        (0x00, 0x00, 0x04), (0x1f, 0x0c, 0x48), (0x55, 0x0f, 0x6d), (0x88, 0x22, 0x6a), (0xba, 0x36, 0x55),
        (0xe3, 0x59, 0x33), (0xf9, 0x8e, 0x09), (0xf8, 0xc9, 0x32), (0xfc, 0xff, 0xa4),
    ];

    /// <summary>The inferno colour of <paramref name="value"/>: 0 is near-black, 1 pale yellow; values outside [0, 1] (and NaN, as 0) are clamped.</summary>
    /// <param name="value">A value in [0, 1].</param>
    /// <returns>8-bit red, green and blue.</returns>
    public static (byte R, byte G, byte B) Inferno(float value)
    {
        float v = float.IsNaN(value) ? 0 : Math.Clamp(value, 0, 1) * (Stops.Length - 1);
        int i = Math.Min((int)v, Stops.Length - 2);
        float f = v - i;
        var (a, b) = (Stops[i], Stops[i + 1]);
        return ((byte)Math.Round(a.R + (b.R - a.R) * f), (byte)Math.Round(a.G + (b.G - a.G) * f), (byte)Math.Round(a.B + (b.B - a.B) * f));
    }
}
