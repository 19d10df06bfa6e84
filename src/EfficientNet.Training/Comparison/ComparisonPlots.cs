using Microsoft.ML.EfficientNet.IO;
using System.Globalization;
using Microsoft.ML.EfficientNet;
using SkiaSharp;

namespace EfficientNet.Training.Comparison;

/// <summary>
/// The report's PNG plots, drawn with SkiaSharp (the version ML.NET's image transforms use; the plotting packages
/// served here need a newer SkiaSharp than ML.NET 5 runs with). Each point is labelled with its candidate; the Pareto
/// front is drawn in orange and joined by a line.
/// </summary>
internal static class ComparisonPlots
{
    private const int Width = 1000, Height = 640, Left = 96, Right = 40, Top = 64, Bottom = 84;
    private static readonly SKColor Front = new(0xE6, 0x7E, 0x22), Other = new(0x2E, 0x6F, 0xB5), Grid = new(0xE4, 0xE4, 0xE4);
    private static readonly SKColor[] LineColors = [new(0x2E, 0x6F, 0xB5), new(0x27, 0xAE, 0x60), new(0x8E, 0x44, 0xAD), new(0xE6, 0x7E, 0x22), new(0xC0, 0x39, 0x2B)];

    public static IReadOnlyList<string> Write(ComparisonResult result, string directory)
    {
        var ok = result.Candidates.Where(c => c.Status == CandidateStatus.Succeeded).ToList();
        string yLabel = result.Metric == ComparisonMetric.MacroF1 ? "held-out macro-F1 (%)" : "held-out accuracy (%)";
        var files = new List<string>
        {
            Scatter(Path.Combine(directory, "accuracy_vs_params.png"), "Accuracy against parameters", "parameters (millions)", yLabel,
                ok.Select(c => (c.Name, c.Parameters / 1e6, c.Score(result.Metric))).ToList()),
            Scatter(Path.Combine(directory, "accuracy_vs_macs.png"), "Accuracy against compute", "multiply-accumulates per image (millions)", yLabel,
                ok.Select(c => (c.Name, c.Macs / 1e6, c.Score(result.Metric))).ToList()),
            Scatter(Path.Combine(directory, "accuracy_vs_latency.png"), "Accuracy against latency on this machine", "latency at batch 1, p50 (ms)", yLabel,
                ok.Select(c => (c.Name, c.LatencyMilliseconds, c.Score(result.Metric))).ToList()),
        };
        var scaling = ok.Where(c => c.ScalingDimension is not null).ToList();
        if (scaling.Any(c => c.ScalingDimension != "baseline"))
        {
            var baseline = scaling.Where(c => c.ScalingDimension == "baseline").ToList();
            var series = scaling.Where(c => c.ScalingDimension != "baseline").GroupBy(c => c.ScalingDimension!)
                .Select(g => (g.Key, baseline.Concat(g).OrderBy(c => c.Macs).Select(c => (c.Name, c.Macs / 1e6, c.Score(result.Metric))).ToList()))
                .ToList();
            files.Add(Lines(Path.Combine(directory, "scaling.png"), "Scaling B0 one dimension at a time against compound scaling",
                "multiply-accumulates per image (millions)", yLabel, series));
        }
        return files;
    }

    /// <summary>A labelled scatter plot with the Pareto front (lower x, higher y) in orange, joined by a line.</summary>
    public static string Scatter(string path, string title, string xLabel, string yLabel, IReadOnlyList<(string Label, double X, double Y)> points)
    {
        var valid = points.Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).ToList();
        var front = ComparisonRecommendation.ParetoFront(valid.Select(p => (p.X, p.Y)).ToList()).ToHashSet();
        Render(path, title, xLabel, yLabel, valid.Select(p => (p.X, p.Y)), (canvas, map) =>
        {
            var frontPoints = front.Select(i => valid[i]).OrderBy(p => p.X).ToList();
            using (var line = Stroke(Front, 2.5f))
            {
                for (int i = 1; i < frontPoints.Count; i++)
                    canvas.DrawLine(map(frontPoints[i - 1].X, frontPoints[i - 1].Y), map(frontPoints[i].X, frontPoints[i].Y), line);
            }
            var placed = new List<SKRect>();
            for (int i = 0; i < valid.Count; i++)
            {
                bool onFront = front.Contains(i);
                var at = map(valid[i].X, valid[i].Y);
                Dot(canvas, at, onFront ? Front : Other, onFront ? 7 : 6);
                Label(canvas, valid[i].Label, at, placed);
            }
            Legend(canvas, [("Pareto front", Front, true), ("other candidates", Other, false)]);
            if (valid.Count == 0) Centered(canvas, "no candidate finished", Height / 2f);
        });
        return path;
    }

    /// <summary>One line per series (a scaling dimension), points labelled.</summary>
    public static string Lines(string path, string title, string xLabel, string yLabel, IReadOnlyList<(string Name, List<(string Label, double X, double Y)> Points)> series)
    {
        var all = series.SelectMany(s => s.Points).Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).ToList();
        Render(path, title, xLabel, yLabel, all.Select(p => (p.X, p.Y)), (canvas, map) =>
        {
            var placed = new List<SKRect>();
            var legend = new List<(string, SKColor, bool)>();
            for (int s = 0; s < series.Count; s++)
            {
                var color = LineColors[s % LineColors.Length];
                var pts = series[s].Points.Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).ToList();
                using var line = Stroke(color, 2.5f);
                for (int i = 1; i < pts.Count; i++) canvas.DrawLine(map(pts[i - 1].X, pts[i - 1].Y), map(pts[i].X, pts[i].Y), line);
                foreach (var p in pts)
                {
                    var at = map(p.X, p.Y);
                    Dot(canvas, at, color, 6);
                    if (p.Label != ScalingStudy.BaselineName || s == 0) Label(canvas, p.Label, at, placed);
                }
                legend.Add((series[s].Name, color, true));
            }
            Legend(canvas, legend);
        });
        return path;
    }

    private static void Render(string path, string title, string xLabel, string yLabel, IEnumerable<(double X, double Y)> points,
        Action<SKCanvas, Func<double, double, SKPoint>> draw)
    {
        var list = points.ToList();
        var (x0, x1) = Range(list.Select(p => p.X), zeroBased: true);
        var (y0, y1) = Range(list.Select(p => p.Y), zeroBased: false);
        var xTicks = Ticks(x0, x1);
        var yTicks = Ticks(y0, y1);
        (x0, x1) = (Math.Min(x0, xTicks[0]), Math.Max(x1, xTicks[^1]));
        (y0, y1) = (Math.Min(y0, yTicks[0]), Math.Max(y1, yTicks[^1]));
        float plotW = Width - Left - Right, plotH = Height - Top - Bottom;
        SKPoint Map(double x, double y) => new(Left + (float)((x - x0) / (x1 - x0) * plotW), Top + plotH - (float)((y - y0) / (y1 - y0) * plotH));

        using var surface = SKSurface.Create(new SKImageInfo(Width, Height, SKColorType.Rgba8888, SKAlphaType.Premul));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using var grid = Stroke(Grid, 1);
        using var axis = Stroke(SKColors.Black, 1.5f);
        using var tickText = Text(15, SKColors.Black);
        foreach (double t in xTicks)
        {
            var p = Map(t, y0);
            canvas.DrawLine(p.X, Top, p.X, Top + plotH, grid);
            string s = TickText(t, xTicks);
            canvas.DrawText(s, p.X - tickText.MeasureText(s) / 2, Top + plotH + 22, tickText);
        }
        foreach (double t in yTicks)
        {
            var p = Map(x0, t);
            canvas.DrawLine(Left, p.Y, Left + plotW, p.Y, grid);
            string s = TickText(t, yTicks);
            canvas.DrawText(s, Left - 10 - tickText.MeasureText(s), p.Y + 5, tickText);
        }
        canvas.DrawRect(Left, Top, plotW, plotH, axis);
        using (var titleText = Text(22, SKColors.Black, bold: true)) canvas.DrawText(title, (Width - titleText.MeasureText(title)) / 2, 38, titleText);
        using (var axisText = Text(17, SKColors.Black))
        {
            canvas.DrawText(xLabel, Left + (plotW - axisText.MeasureText(xLabel)) / 2, Height - 28, axisText);
            canvas.Save();
            canvas.RotateDegrees(-90);
            canvas.DrawText(yLabel, -(Top + (plotH + axisText.MeasureText(yLabel)) / 2), 30, axisText);
            canvas.Restore();
        }
        canvas.Save();
        canvas.ClipRect(new SKRect(Left - 60, Top - 30, Width, Top + plotH + 10));
        draw(canvas, Map);
        canvas.Restore();
        using var image = surface.Snapshot();
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        AtomicFile.WriteAllBytes(path, png.AsSpan());
    }

    private static (double, double) Range(IEnumerable<double> values, bool zeroBased)
    {
        var v = values.ToList();
        if (v.Count == 0) return (0, 1);
        double lo = v.Min(), hi = v.Max();
        if (zeroBased && lo >= 0) lo = 0;
        double span = hi - lo;
        if (span <= 0) span = Math.Max(Math.Abs(hi) * 0.1, 1);
        // Room around the points for their labels.
        return (zeroBased && lo == 0 ? 0 : lo - span * 0.12, hi + span * 0.12);
    }

    private static double[] Ticks(double lo, double hi)
    {
        double raw = (hi - lo) / 6, magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double step = new[] { 1, 2, 2.5, 5, 10 }.Select(m => m * magnitude).First(s => s >= raw);
        double first = Math.Floor(lo / step) * step, last = Math.Ceiling(hi / step) * step;
        int n = (int)Math.Round((last - first) / step);
        return Enumerable.Range(0, n + 1).Select(i => first + i * step).ToArray();
    }

    private static string TickText(double value, double[] ticks)
    {
        double step = ticks.Length > 1 ? ticks[1] - ticks[0] : 1;
        int decimals = Math.Max(0, (int)-Math.Floor(Math.Log10(step) + 1e-9));
        if (step * Math.Pow(10, decimals) % 1 > 1e-6) decimals++;
        return value.ToString("F" + decimals, CultureInfo.InvariantCulture);
    }

    private static void Dot(SKCanvas canvas, SKPoint at, SKColor color, float radius)
    {
        using var fill = new SKPaint { Color = color, IsAntialias = true, Style = SKPaintStyle.Fill };
        using var edge = Stroke(SKColors.White, 1.5f);
        canvas.DrawCircle(at, radius, fill);
        canvas.DrawCircle(at, radius, edge);
    }

    /// <summary>Writes a point's label beside it, trying positions around the point until one overlaps no earlier label.</summary>
    private static void Label(SKCanvas canvas, string label, SKPoint at, List<SKRect> placed)
    {
        using var text = Text(15, new SKColor(0x22, 0x22, 0x22));
        float w = text.MeasureText(label), h = 15;
        (float dx, float dy)[] offsets = [(10, -8), (10, 18), (-w - 10, -8), (-w - 10, 18), (-w / 2, -14), (-w / 2, 26), (10, -26), (-w - 10, -26), (10, 36)];
        SKRect chosen = default;
        foreach (var (dx, dy) in offsets)
        {
            var r = new SKRect(at.X + dx, at.Y + dy - h, at.X + dx + w, at.Y + dy + 3);
            chosen = r;
            if (r.Right <= Width - 4 && r.Left >= Left - 56 && r.Top >= Top - 24 && !placed.Any(p => p.IntersectsWith(r))) break;
        }
        placed.Add(chosen);
        using var halo = Text(15, SKColors.White);
        halo.Style = SKPaintStyle.Stroke;
        halo.StrokeWidth = 4;
        canvas.DrawText(label, chosen.Left, chosen.Bottom - 3, halo);
        canvas.DrawText(label, chosen.Left, chosen.Bottom - 3, text);
    }

    private static void Legend(SKCanvas canvas, IReadOnlyList<(string Name, SKColor Color, bool Line)> entries)
    {
        using var text = Text(15, SKColors.Black);
        float w = entries.Max(e => text.MeasureText(e.Name)) + 48, h = 24 * entries.Count + 10;
        float x = Width - Right - w - 10, y = Top + Height - Top - Bottom - h - 10;
        using (var box = new SKPaint { Color = new SKColor(255, 255, 255, 230), Style = SKPaintStyle.Fill })
            canvas.DrawRect(x, y, w, h, box);
        using (var border = Stroke(new SKColor(0xBB, 0xBB, 0xBB), 1)) canvas.DrawRect(x, y, w, h, border);
        for (int i = 0; i < entries.Count; i++)
        {
            float cy = y + 17 + 24 * i;
            if (entries[i].Line)
            {
                using var line = Stroke(entries[i].Color, 2.5f);
                canvas.DrawLine(x + 8, cy, x + 32, cy, line);
            }
            Dot(canvas, new SKPoint(x + 20, cy), entries[i].Color, 6);
            canvas.DrawText(entries[i].Name, x + 40, cy + 5, text);
        }
    }

    private static void Centered(SKCanvas canvas, string message, float y)
    {
        using var text = Text(20, SKColors.Gray);
        canvas.DrawText(message, (Width - text.MeasureText(message)) / 2, y, text);
    }

    private static SKPaint Stroke(SKColor color, float width) => new() { Color = color, StrokeWidth = width, IsAntialias = true, Style = SKPaintStyle.Stroke };

    private static SKPaint Text(float size, SKColor color, bool bold = false) =>
        new() { Color = color, TextSize = size, IsAntialias = true, Typeface = bold ? Fonts.Bold : Fonts.Regular, Style = SKPaintStyle.Fill };

    /// <summary>
    /// A typeface that has glyphs: SkiaSharp's Linux build without dependencies has no font manager, so its default
    /// typeface draws nothing; DejaVu Sans (or Liberation Sans) from the system's font folders is loaded instead.
    /// </summary>
    private static class Fonts
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
