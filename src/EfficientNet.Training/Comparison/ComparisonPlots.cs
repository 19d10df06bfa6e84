using Microsoft.ML.EfficientNet.IO;
using System.Globalization;
using Microsoft.ML.EfficientNet;
using Microsoft.ML.EfficientNet.Drawing;
using SkiaSharp;
using static Microsoft.ML.EfficientNet.Drawing.ChartDrawing;

namespace EfficientNet.Training.Comparison;

/// <summary>
/// The report's PNG plots, drawn with SkiaSharp through <see cref="ChartDrawing"/> (which says why not ScottPlot). Each
/// point is labelled with its candidate; the Pareto front is drawn in orange and joined by a line. Ranked by accuracy,
/// each point has its 95 % interval as a bar and chance (the majority-class rate) is a dashed line. The y-axis spans at
/// least <see cref="MinimumSpan"/> points and includes chance, so that equal or nearly equal accuracies do not look apart.
/// </summary>
internal static class ComparisonPlots
{
    /// <summary>The smallest y-axis span, in percentage points.</summary>
    public const double MinimumSpan = 10;

    private const int Width = 1000, Height = 640, Left = 96, Right = 40, Top = 64, Bottom = 84;
    private static readonly SKColor Front = new(0xE6, 0x7E, 0x22), Other = new(0x2E, 0x6F, 0xB5), Grid = new(0xE4, 0xE4, 0xE4), ChanceColor = new(0x77, 0x77, 0x77);
    private static readonly SKRect PlotArea = new(Left, Top, Width - Right, Height - Bottom);
    private static readonly SKColor[] LineColors = [new(0x2E, 0x6F, 0xB5), new(0x27, 0xAE, 0x60), new(0x8E, 0x44, 0xAD), new(0xE6, 0x7E, 0x22), new(0xC0, 0x39, 0x2B)];

    /// <summary>One candidate on a plot: its score (percent) and, where known, the 95 % interval around it.</summary>
    public readonly record struct PlotPoint(string Label, double X, double Y, double Low = double.NaN, double High = double.NaN)
    {
        public bool HasInterval => double.IsFinite(Low) && double.IsFinite(High);
    }

    public static IReadOnlyList<string> Write(ComparisonResult result, string directory)
    {
        var ok = result.Candidates.Where(c => c.Status == CandidateStatus.Succeeded).ToList();
        // Intervals and chance are accuracy's; macro-F1 has neither here.
        bool accuracy = result.Metric == ComparisonMetric.Accuracy;
        double chance = accuracy ? ComparisonReport.ChanceAccuracy(result) : double.NaN;
        string yLabel = accuracy ? "held-out accuracy (%), bars: 95 % interval" : "held-out macro-F1 (%)";
        PlotPoint Point(CandidateResult c, double x) =>
            accuracy ? new(c.Name, x, c.Accuracy, c.AccuracyLow, c.AccuracyHigh) : new(c.Name, x, c.Score(result.Metric));
        var files = new List<string>
        {
            Scatter(Path.Combine(directory, "accuracy_vs_params.png"), "Accuracy against parameters", "parameters (millions)", yLabel,
                ok.Select(c => Point(c, c.Parameters / 1e6)).ToList(), chance),
            Scatter(Path.Combine(directory, "accuracy_vs_macs.png"), "Accuracy against compute", "multiply-accumulates per image (millions)", yLabel,
                ok.Select(c => Point(c, c.Macs / 1e6)).ToList(), chance),
            Scatter(Path.Combine(directory, "accuracy_vs_latency.png"), "Accuracy against latency on this machine", "latency at batch 1, p50 (ms)", yLabel,
                ok.Select(c => Point(c, c.LatencyMilliseconds)).ToList(), chance),
        };
        var scaling = ok.Where(c => c.ScalingDimension is not null).ToList();
        if (scaling.Any(c => c.ScalingDimension != "baseline"))
        {
            var baseline = scaling.Where(c => c.ScalingDimension == "baseline").ToList();
            var series = scaling.Where(c => c.ScalingDimension != "baseline").GroupBy(c => c.ScalingDimension!)
                .Select(g => (g.Key, baseline.Concat(g).OrderBy(c => c.Macs).Select(c => Point(c, c.Macs / 1e6)).ToList()))
                .ToList();
            files.Add(Lines(Path.Combine(directory, "scaling.png"), "Scaling B0 one dimension at a time against compound scaling",
                "multiply-accumulates per image (millions)", yLabel, series, chance));
        }
        return files;
    }

    /// <summary>A labelled scatter plot with the Pareto front (lower x, higher y) in orange, joined by a line; intervals as bars, chance dashed.</summary>
    public static string Scatter(string path, string title, string xLabel, string yLabel, IReadOnlyList<PlotPoint> points, double chance = double.NaN)
    {
        var valid = points.Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).ToList();
        var front = ComparisonRecommendation.ParetoFront(valid.Select(p => (p.X, p.Y)).ToList()).ToHashSet();
        Render(path, title, xLabel, yLabel, valid, chance, (canvas, map) =>
        {
            var frontPoints = front.Select(i => valid[i]).OrderBy(p => p.X).ToList();
            using (var line = Stroke(Front, 2.5f))
            {
                for (int i = 1; i < frontPoints.Count; i++)
                    canvas.DrawLine(map(frontPoints[i - 1].X, frontPoints[i - 1].Y), map(frontPoints[i].X, frontPoints[i].Y), line);
            }
            // The legend first, so that labels keep clear of it.
            var placed = new List<SKRect> { ChartDrawing.Legend(canvas, PlotArea, [new("Pareto front", Front), new("other candidates", Other, Line: false)], top: false) };
            ChanceLine(canvas, map, chance, placed, valid);
            for (int i = 0; i < valid.Count; i++) ErrorBar(canvas, map, valid[i], front.Contains(i) ? Front : Other);
            for (int i = 0; i < valid.Count; i++)
            {
                bool onFront = front.Contains(i);
                var at = map(valid[i].X, valid[i].Y);
                Dot(canvas, at, onFront ? Front : Other, onFront ? 7 : 6);
                Label(canvas, valid[i].Label, at, placed);
            }
            if (valid.Count == 0) Centered(canvas, "no candidate finished", Height / 2f);
        });
        return path;
    }

    /// <summary>One line per series (a scaling dimension), points labelled; intervals as bars, chance dashed.</summary>
    public static string Lines(string path, string title, string xLabel, string yLabel, IReadOnlyList<(string Name, List<PlotPoint> Points)> series, double chance = double.NaN)
    {
        var all = series.SelectMany(s => s.Points).Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).ToList();
        Render(path, title, xLabel, yLabel, all, chance, (canvas, map) =>
        {
            var placed = new List<SKRect>
            {
                ChartDrawing.Legend(canvas, PlotArea, series.Select((s, i) => new LegendEntry(s.Name, LineColors[i % LineColors.Length])).ToList(), top: false),
            };
            ChanceLine(canvas, map, chance, placed, all);
            for (int s = 0; s < series.Count; s++)
            {
                var color = LineColors[s % LineColors.Length];
                var pts = series[s].Points.Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).ToList();
                using var line = Stroke(color, 2.5f);
                for (int i = 1; i < pts.Count; i++) canvas.DrawLine(map(pts[i - 1].X, pts[i - 1].Y), map(pts[i].X, pts[i].Y), line);
                foreach (var p in pts) ErrorBar(canvas, map, p, color);
                foreach (var p in pts)
                {
                    var at = map(p.X, p.Y);
                    Dot(canvas, at, color, 6);
                    if (p.Label != ScalingStudy.BaselineName || s == 0) Label(canvas, p.Label, at, placed);
                }
            }
        });
        return path;
    }

    private static void Render(string path, string title, string xLabel, string yLabel, IReadOnlyList<PlotPoint> points, double chance,
        Action<SKCanvas, Func<double, double, SKPoint>> draw)
    {
        var (x0, x1) = XRange(points.Select(p => p.X).ToList());
        var (y0, y1) = YRange(points.SelectMany(p => p.HasInterval ? [p.Y, p.Low, p.High] : new[] { p.Y }).Append(chance).Where(double.IsFinite).ToList());
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
        AtomicFile.WriteAllBytes(path, EncodePng(surface));
    }


    /// <summary>
    /// The x-axis: from zero when all values are positive, with room right of the points for their labels and the legend
    /// (which sits in the bottom-right corner, where an interval bar would otherwise run under it).
    /// </summary>
    private static (double, double) XRange(IReadOnlyList<double> values)
    {
        var v = values.Where(double.IsFinite).ToList();
        if (v.Count == 0) return (0, 1);
        double lo = Math.Min(0, v.Min()), hi = v.Max();
        double span = hi - lo;
        if (span <= 0) span = Math.Max(Math.Abs(hi) * 0.1, 1);
        return (lo, hi + span * 0.35);
    }

    /// <summary>
    /// The y-axis, in percent: every value (scores, interval ends, chance), at least <see cref="MinimumSpan"/> points wide so
    /// that a difference of a few images does not fill the plot, with room for labels, inside [0, 100].
    /// </summary>
    internal static (double Low, double High) YRange(IReadOnlyList<double> values)
    {
        if (values.Count == 0) return (0, 100);
        double lo = values.Min(), hi = values.Max();
        if (hi - lo < MinimumSpan)
        {
            double middle = (lo + hi) / 2;
            (lo, hi) = (middle - MinimumSpan / 2, middle + MinimumSpan / 2);
        }
        double pad = (hi - lo) * 0.12;
        (lo, hi) = (lo - pad, hi + pad);
        if (lo < 0) (lo, hi) = (0, hi - lo);
        if (hi > 100) (lo, hi) = (Math.Max(0, lo - (hi - 100)), 100);
        return (lo, hi);
    }

    /// <summary>
    /// A dashed line across the plot at chance, labelled at one end: the first place, right or left, above or below the
    /// line, that keeps clear of the legend, the points and their bars.
    /// </summary>
    private static void ChanceLine(SKCanvas canvas, Func<double, double, SKPoint> map, double chance, List<SKRect> placed, IReadOnlyList<PlotPoint> points)
    {
        if (!double.IsFinite(chance)) return;
        float y = map(0, chance).Y;
        using (var dashed = Stroke(ChanceColor, 2f, dashed: true)) canvas.DrawLine(PlotArea.Left, y, PlotArea.Right, y, dashed);
        string label = string.Create(CultureInfo.InvariantCulture, $"chance (majority class) {chance:0.00} %");
        using var text = Text(14, ChanceColor);
        float w = text.MeasureText(label);
        var obstacles = placed.Concat(points.Select(p =>
        {
            SKPoint at = map(p.X, p.Y), low = p.HasInterval ? map(p.X, p.Low) : at, high = p.HasInterval ? map(p.X, p.High) : at;
            return new SKRect(at.X - 10, Math.Min(high.Y, at.Y - 10), at.X + 10, Math.Max(low.Y, at.Y + 10));
        })).ToList();
        (float X, float Baseline)[] spots =
        [
            (PlotArea.Right - w - 8, y - 6), (PlotArea.Right - w - 8, y + 18), (PlotArea.Left + 8, y - 6), (PlotArea.Left + 8, y + 18),
        ];
        var (x, baseline) = spots.Where(s => s.Baseline - 14 >= PlotArea.Top && s.Baseline + 3 <= PlotArea.Bottom)
            .FirstOrDefault(s => !obstacles.Any(o => o.IntersectsWith(new SKRect(s.X, s.Baseline - 14, s.X + w, s.Baseline + 3))), spots[y - 20 < PlotArea.Top ? 1 : 0]);
        using (var halo = Text(14, SKColors.White))
        {
            halo.Style = SKPaintStyle.Stroke;
            halo.StrokeWidth = 4;
            canvas.DrawText(label, x, baseline, halo);
        }
        canvas.DrawText(label, x, baseline, text);
        placed.Add(new SKRect(x, baseline - 14, x + w, baseline + 3));
    }

    /// <summary>A vertical bar from the interval's low to its high end, with caps.</summary>
    private static void ErrorBar(SKCanvas canvas, Func<double, double, SKPoint> map, PlotPoint p, SKColor color)
    {
        if (!p.HasInterval) return;
        SKPoint low = map(p.X, p.Low), high = map(p.X, p.High);
        using var bar = Stroke(color.WithAlpha(200), 2f);
        canvas.DrawLine(low, high, bar);
        canvas.DrawLine(low.X - 6, low.Y, low.X + 6, low.Y, bar);
        canvas.DrawLine(high.X - 6, high.Y, high.X + 6, high.Y, bar);
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

    private static void Centered(SKCanvas canvas, string message, float y)
    {
        using var text = Text(20, SKColors.Gray);
        canvas.DrawText(message, (Width - text.MeasureText(message)) / 2, y, text);
    }

}
