using System.Globalization;
using SkiaSharp;

namespace Microsoft.ML.EfficientNet.Drawing;

/// <summary>
/// What every picture this project draws shares: a typeface with glyphs, text and stroke paints, axis ticks, a legend,
/// PNG encoding. The charts (training curves, confusion heatmap, comparison plots) and the class-activation-map captions
/// are drawn with SkiaSharp directly rather than with ScottPlot: ScottPlot 5 needs SkiaSharp 3, while ML.NET's image
/// transforms run on SkiaSharp 2.88 and one process loads one SkiaSharp.
/// </summary>
internal static class ChartDrawing
{
    /// <summary>Regular text. SkiaSharp's Linux build without dependencies has no font manager, so its default typeface
    /// draws nothing: DejaVu Sans (or Liberation/Noto Sans) is found by family, else in the system's font folders.</summary>
    public static SKTypeface Regular => Typefaces.Regular;

    /// <summary>Bold text, found as <see cref="Regular"/> is.</summary>
    public static SKTypeface Bold => Typefaces.Bold;

    /// <summary>A fill paint for text of <paramref name="size"/> pixels.</summary>
    public static SKPaint Text(float size, SKColor? color = null, bool bold = false) =>
        new() { Color = color ?? SKColors.Black, TextSize = size, IsAntialias = true, Typeface = bold ? Bold : Regular, Style = SKPaintStyle.Fill };

    /// <summary>An antialiased stroke paint, optionally dashed.</summary>
    public static SKPaint Stroke(SKColor color, float width, bool dashed = false)
    {
        var paint = new SKPaint { Color = color, StrokeWidth = width, IsAntialias = true, Style = SKPaintStyle.Stroke };
        if (dashed) paint.PathEffect = SKPathEffect.CreateDash([8, 5], 0);
        return paint;
    }

    /// <summary>Draws <paramref name="text"/> centred on <paramref name="x"/>, baseline at <paramref name="y"/>.</summary>
    public static void DrawCentered(SKCanvas canvas, string text, float x, float y, SKPaint paint) =>
        canvas.DrawText(text, x - paint.MeasureText(text) / 2, y, paint);

    /// <summary>
    /// Ticks at a step of 1, 2, 2.5 or 5 × 10^k covering [<paramref name="lo"/>, <paramref name="hi"/>] with at most about
    /// <paramref name="maxTicks"/> intervals; the first tick is at or below lo and the last at or above hi.
    /// </summary>
    public static double[] Ticks(double lo, double hi, int maxTicks = 6, double minStep = 0)
    {
        double span = hi - lo;
        if (!(span > 0)) span = Math.Max(Math.Abs(hi), 1);
        double raw = span / maxTicks, magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double step = Math.Max(minStep, new[] { 1, 2, 2.5, 5, 10 }.Select(m => m * magnitude).First(s => s >= raw));
        double first = Math.Floor(lo / step + 1e-9) * step, last = Math.Ceiling(hi / step - 1e-9) * step;
        int n = Math.Max(1, (int)Math.Round((last - first) / step));
        return Enumerable.Range(0, n + 1).Select(i => first + i * step).ToArray();
    }

    /// <summary>A tick's text with as many decimals as the tick step needs.</summary>
    public static string TickText(double value, IReadOnlyList<double> ticks)
    {
        double step = ticks.Count > 1 ? ticks[1] - ticks[0] : 1;
        int decimals = Math.Max(0, (int)-Math.Floor(Math.Log10(step) + 1e-9));
        if (step * Math.Pow(10, decimals) % 1 > 1e-6) decimals++;
        return value.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
    }

    /// <summary>One legend entry: a name, its colour, whether it is drawn as a line (else a dot), dashed or not.</summary>
    public readonly record struct LegendEntry(string Name, SKColor Color, bool Line = true, bool Dashed = false);

    /// <summary>A legend box inside <paramref name="plot"/>, in its top-right or bottom-right corner; returns the box (empty when there are no entries), so labels can keep clear of it.</summary>
    public static SKRect Legend(SKCanvas canvas, SKRect plot, IReadOnlyList<LegendEntry> entries, bool top, float textSize = 14)
    {
        if (entries.Count == 0) return SKRect.Empty;
        using var text = Text(textSize);
        float row = textSize + 8, w = entries.Max(e => text.MeasureText(e.Name)) + 48, h = row * entries.Count + 10;
        float x = plot.Right - w - 8, y = top ? plot.Top + 8 : plot.Bottom - h - 8;
        using (var box = new SKPaint { Color = new SKColor(255, 255, 255, 230), Style = SKPaintStyle.Fill }) canvas.DrawRect(x, y, w, h, box);
        using (var border = Stroke(new SKColor(0xBB, 0xBB, 0xBB), 1)) canvas.DrawRect(x, y, w, h, border);
        for (int i = 0; i < entries.Count; i++)
        {
            float cy = y + 5 + row * i + row / 2;
            if (entries[i].Line)
            {
                using var line = Stroke(entries[i].Color, 2.5f, entries[i].Dashed);
                canvas.DrawLine(x + 8, cy, x + 32, cy, line);
            }
            using (var dot = new SKPaint { Color = entries[i].Color, IsAntialias = true, Style = SKPaintStyle.Fill }) canvas.DrawCircle(x + 20, cy, 4.5f, dot);
            canvas.DrawText(entries[i].Name, x + 40, cy + textSize / 3, text);
        }
        return new SKRect(x, y, x + w, y + h);
    }

    /// <summary>The surface as PNG bytes.</summary>
    public static byte[] EncodePng(SKSurface surface)
    {
        using var image = surface.Snapshot();
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    private static class Typefaces
    {
        public static readonly SKTypeface Regular = Load(SKFontStyle.Normal, ["DejaVuSans.ttf", "LiberationSans-Regular.ttf", "NotoSans-Regular.ttf"]);
        public static readonly SKTypeface Bold = Load(SKFontStyle.Bold, ["DejaVuSans-Bold.ttf", "LiberationSans-Bold.ttf", "NotoSans-Bold.ttf"]);

        private static SKTypeface Load(SKFontStyle style, string[] files)
        {
            var family = SKTypeface.FromFamilyName("DejaVu Sans", style);
            if (family is not null && family.GlyphCount > 0) return family;
            foreach (string root in (string[])["/usr/share/fonts", "/usr/local/share/fonts", "/System/Library/Fonts", @"C:\Windows\Fonts"])
            {
                if (!Directory.Exists(root)) continue;
                foreach (string file in files)
                {
                    string? found = Directory.EnumerateFiles(root, file, SearchOption.AllDirectories).FirstOrDefault();
                    if (found is not null && SKTypeface.FromFile(found) is { GlyphCount: > 0 } typeface) return typeface;
                }
            }
            return family ?? SKTypeface.Default;
        }
    }
}
