using Microsoft.ML.EfficientNet.IO;
using System.Globalization;
using Microsoft.ML.EfficientNet;
using Microsoft.ML.EfficientNet.Drawing;
using SkiaSharp;
using static Microsoft.ML.EfficientNet.Drawing.ChartDrawing;

namespace EfficientNet.Training.Comparison;

/// <summary>
/// The report's PNG plots, drawn with SkiaSharp through <see cref="ChartDrawing"/> (which says why not ScottPlot). Each
/// point is labelled with its candidate; the Pareto front is drawn in orange and joined by a line.
/// </summary>
internal static class ComparisonPlots
{
    private const int Width = 1000, Height = 640, Left = 96, Right = 40, Top = 64, Bottom = 84;
    private static readonly SKColor Front = new(0xE6, 0x7E, 0x22), Other = new(0x2E, 0x6F, 0xB5), Grid = new(0xE4, 0xE4, 0xE4);
    private static readonly SKRect PlotArea = new(Left, Top, Width - Right, Height - Bottom);
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
            // The legend first, so that labels keep clear of it.
            var placed = new List<SKRect> { ChartDrawing.Legend(canvas, PlotArea, [new("Pareto front", Front), new("other candidates", Other, Line: false)], top: false) };
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

    /// <summary>One line per series (a scaling dimension), points labelled.</summary>
    public static string Lines(string path, string title, string xLabel, string yLabel, IReadOnlyList<(string Name, List<(string Label, double X, double Y)> Points)> series)
    {
        var all = series.SelectMany(s => s.Points).Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).ToList();
        Render(path, title, xLabel, yLabel, all.Select(p => (p.X, p.Y)), (canvas, map) =>
        {
            var placed = new List<SKRect>
            {
                ChartDrawing.Legend(canvas, PlotArea, series.Select((s, i) => new ChartDrawing.LegendEntry(s.Name, LineColors[i % LineColors.Length])).ToList(), top: false),
            };
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
            }
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
        AtomicFile.WriteAllBytes(path, EncodePng(surface));
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
