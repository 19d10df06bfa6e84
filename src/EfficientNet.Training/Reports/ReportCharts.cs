using System.Globalization;
using SkiaSharp;

namespace EfficientNet.Training.Reports;

/// <summary>
/// The report's two PNG charts, drawn with SkiaSharp. Not ScottPlot: ScottPlot 5.1.59 needs SkiaSharp ≥ 3.119, while ML.NET's
/// ImageAnalytics 5.0.1 (and this repository) run on SkiaSharp 2.88, and one process loads one SkiaSharp.
/// </summary>
internal static class ReportCharts
{
    /// <summary>One line of a chart: a name for the legend, a colour, and (x, y) points; NaN y values are skipped.</summary>
    internal sealed record Series(string Name, SKColor Color, IReadOnlyList<(double X, double Y)> Points, bool Dashed = false);

    private static readonly Lazy<SKTypeface> Typeface = new(() =>
        // Skia without fontconfig scans /usr/share/fonts itself; DejaVu Sans is on every Debian with fontconfig-config.
        SKFontManager.Default.MatchFamily("DejaVu Sans") ?? SKFontManager.Default.MatchFamily("Liberation Sans") ?? SKTypeface.Default);

    internal static readonly SKColor Blue = new(31, 119, 180), Orange = new(255, 127, 14);

    /// <summary>A PNG with one line chart per panel, side by side.</summary>
    internal static byte[] Panels(int width, int height, string title, IReadOnlyList<(string Title, string YLabel, IReadOnlyList<Series> Series, (double Min, double Max)? Y)> panels)
    {
        using var surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using var titlePaint = Text(20, bold: true);
        DrawCentered(canvas, title, width / 2f, 30, titlePaint);
        float panelWidth = width / (float)panels.Count;
        for (int i = 0; i < panels.Count; i++)
        {
            var p = panels[i];
            LineChart(canvas, new SKRect(i * panelWidth + 70, 80, (i + 1) * panelWidth - 20, height - 60), p.Title, "epoch", p.YLabel, p.Series, p.Y);
        }
        return Encode(surface);
    }

    /// <summary>A confusion-matrix heatmap: cells shaded by the share of the true class (row), each labelled with its count.</summary>
    internal static byte[] Heatmap(string title, IReadOnlyList<string> classes, long[,] counts)
    {
        int k = classes.Count;
        const int cell = 64;
        using var measure = Text(13);
        float labelWidth = classes.Select(c => measure.MeasureText(c)).DefaultIfEmpty(0).Max() + 16;
        float left = labelWidth + 40, top = 70, gridSide = k * cell;
        int width = (int)(left + gridSide + 110), height = (int)(top + gridSide + labelWidth + 50);
        using var surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using var titlePaint = Text(18, bold: true);
        DrawCentered(canvas, title, width / 2f, 32, titlePaint);

        using var fill = new SKPaint { Style = SKPaintStyle.Fill, IsAntialias = false };
        using var countPaint = Text(13);
        using var grid = new SKPaint { Style = SKPaintStyle.Stroke, Color = new SKColor(220, 220, 220), StrokeWidth = 1 };
        for (int i = 0; i < k; i++)
        {
            long rowTotal = 0;
            for (int j = 0; j < k; j++) rowTotal += counts[i, j];
            for (int j = 0; j < k; j++)
            {
                double share = rowTotal == 0 ? 0 : counts[i, j] / (double)rowTotal;
                var rect = new SKRect(left + j * cell, top + i * cell, left + (j + 1) * cell, top + (i + 1) * cell);
                fill.Color = Shade(share);
                canvas.DrawRect(rect, fill);
                canvas.DrawRect(rect, grid);
                countPaint.Color = share > 0.55 ? SKColors.White : SKColors.Black;
                DrawCentered(canvas, counts[i, j].ToString(CultureInfo.InvariantCulture), rect.MidX, rect.MidY + 5, countPaint);
            }
        }
        using var label = Text(13);
        for (int i = 0; i < k; i++)
        {
            // Row labels (true class) right-aligned left of the grid; column labels (predicted) rotated below it.
            canvas.DrawText(classes[i], left - 8 - label.MeasureText(classes[i]), top + i * cell + cell / 2f + 5, label);
            canvas.Save();
            canvas.Translate(left + i * cell + cell / 2f + 5, top + gridSide + 8);
            canvas.RotateDegrees(-90);
            canvas.DrawText(classes[i], -label.MeasureText(classes[i]), 0, label);
            canvas.Restore();
        }
        using var axis = Text(14, bold: true);
        DrawCentered(canvas, "predicted", left + gridSide / 2, height - 14, axis);
        canvas.Save();
        canvas.Translate(18, top + gridSide / 2);
        canvas.RotateDegrees(-90);
        DrawCentered(canvas, "true class", 0, 0, axis);
        canvas.Restore();

        // Colour bar: share of the true class.
        float barLeft = left + gridSide + 30, barTop = top, barHeight = gridSide;
        for (int y = 0; y < (int)barHeight; y++)
        {
            fill.Color = Shade(1 - y / barHeight);
            canvas.DrawRect(new SKRect(barLeft, barTop + y, barLeft + 18, barTop + y + 1), fill);
        }
        canvas.DrawRect(new SKRect(barLeft, barTop, barLeft + 18, barTop + barHeight), grid);
        using var small = Text(12);
        canvas.DrawText("100 %", barLeft + 22, barTop + 10, small);
        canvas.DrawText("50 %", barLeft + 22, barTop + barHeight / 2 + 4, small);
        canvas.DrawText("0 %", barLeft + 22, barTop + barHeight, small);
        return Encode(surface);
    }

    private static void LineChart(SKCanvas canvas, SKRect plot, string title, string xLabel, string yLabel, IReadOnlyList<Series> series, (double Min, double Max)? yRange)
    {
        var points = series.SelectMany(s => s.Points).Where(p => double.IsFinite(p.Y)).ToList();
        double xMin = points.Count == 0 ? 0 : points.Min(p => p.X), xMax = points.Count == 0 ? 1 : points.Max(p => p.X);
        if (xMax - xMin < 1) { xMin -= 0.5; xMax += 0.5; }
        double yMin, yMax;
        if (yRange is { } r) (yMin, yMax) = r;
        else
        {
            yMin = points.Count == 0 ? 0 : Math.Min(0, points.Min(p => p.Y));
            yMax = points.Count == 0 ? 1 : points.Max(p => p.Y) * 1.08;
            if (yMax - yMin < 1e-9) yMax = yMin + 1;
        }
        float X(double x) => plot.Left + (float)((x - xMin) / (xMax - xMin)) * plot.Width;
        float Y(double y) => plot.Bottom - (float)((y - yMin) / (yMax - yMin)) * plot.Height;

        using var gridPaint = new SKPaint { Style = SKPaintStyle.Stroke, Color = new SKColor(225, 225, 225), StrokeWidth = 1, IsAntialias = true };
        using var framePaint = new SKPaint { Style = SKPaintStyle.Stroke, Color = SKColors.Black, StrokeWidth = 1.5f, IsAntialias = true };
        using var tickText = Text(12);
        double yStep = NiceStep(yMax - yMin, 6);
        for (double y = Math.Ceiling(yMin / yStep) * yStep; y <= yMax + 1e-9; y += yStep)
        {
            canvas.DrawLine(plot.Left, Y(y), plot.Right, Y(y), gridPaint);
            string text = FormatTick(y, yStep);
            canvas.DrawText(text, plot.Left - 6 - tickText.MeasureText(text), Y(y) + 4, tickText);
        }
        double xStep = Math.Max(1, NiceStep(xMax - xMin, 10));
        for (double x = Math.Ceiling(xMin / xStep) * xStep; x <= xMax + 1e-9; x += xStep)
        {
            canvas.DrawLine(X(x), plot.Top, X(x), plot.Bottom, gridPaint);
            DrawCentered(canvas, FormatTick(x, xStep), X(x), plot.Bottom + 18, tickText);
        }
        canvas.DrawRect(plot, framePaint);
        using var titlePaint = Text(15, bold: true);
        DrawCentered(canvas, title, plot.MidX, plot.Top - 12, titlePaint);
        using var axisPaint = Text(13);
        DrawCentered(canvas, xLabel, plot.MidX, plot.Bottom + 40, axisPaint);
        canvas.Save();
        canvas.Translate(plot.Left - 52, plot.MidY);
        canvas.RotateDegrees(-90);
        DrawCentered(canvas, yLabel, 0, 0, axisPaint);
        canvas.Restore();

        canvas.Save();
        canvas.ClipRect(new SKRect(plot.Left - 6, plot.Top - 6, plot.Right + 6, plot.Bottom + 6));
        foreach (var s in series)
        {
            using var line = new SKPaint { Style = SKPaintStyle.Stroke, Color = s.Color, StrokeWidth = 2.5f, IsAntialias = true };
            if (s.Dashed) line.PathEffect = SKPathEffect.CreateDash([8, 5], 0);
            using var dot = new SKPaint { Style = SKPaintStyle.Fill, Color = s.Color, IsAntialias = true };
            using var path = new SKPath();
            bool started = false;
            foreach (var (x, y) in s.Points)
            {
                if (!double.IsFinite(y)) { started = false; continue; }
                if (started) path.LineTo(X(x), Y(y));
                else path.MoveTo(X(x), Y(y));
                started = true;
                canvas.DrawCircle(X(x), Y(y), 4, dot);
            }
            canvas.DrawPath(path, line);
        }
        canvas.Restore();

        // Legend, top right inside the plot.
        using var legendText = Text(12);
        using var legendBox = new SKPaint { Style = SKPaintStyle.Fill, Color = new SKColor(255, 255, 255, 230) };
        var shown = series.Where(s => s.Points.Any(p => double.IsFinite(p.Y))).ToList();
        float legendWidth = shown.Select(s => legendText.MeasureText(s.Name)).DefaultIfEmpty(0).Max() + 44;
        float lx = plot.Right - legendWidth - 8, ly = plot.Top + 8;
        if (shown.Count > 0)
        {
            var box = new SKRect(lx, ly, lx + legendWidth, ly + 8 + 18 * shown.Count);
            canvas.DrawRect(box, legendBox);
            canvas.DrawRect(box, gridPaint);
        }
        for (int i = 0; i < shown.Count; i++)
        {
            using var line = new SKPaint { Style = SKPaintStyle.Stroke, Color = shown[i].Color, StrokeWidth = 2.5f, IsAntialias = true };
            if (shown[i].Dashed) line.PathEffect = SKPathEffect.CreateDash([8, 5], 0);
            float y = ly + 16 + 18 * i;
            canvas.DrawLine(lx + 6, y - 4, lx + 32, y - 4, line);
            canvas.DrawText(shown[i].Name, lx + 38, y, legendText);
        }
    }

    /// <summary>White → dark blue as <paramref name="share"/> goes 0 → 1.</summary>
    private static SKColor Shade(double share)
    {
        share = Math.Clamp(share, 0, 1);
        byte Mix(byte from, byte to) => (byte)Math.Round(from + (to - from) * share);
        return new SKColor(Mix(247, 8), Mix(251, 48), Mix(255, 107));
    }

    /// <summary>1, 2 or 5 × 10^k, so that the range holds at most about <paramref name="maxTicks"/> ticks.</summary>
    private static double NiceStep(double range, int maxTicks)
    {
        double raw = range / maxTicks, magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double[] steps = [1, 2, 5, 10];
        return steps.Select(s => s * magnitude).First(s => s >= raw);
    }

    private static string FormatTick(double value, double step)
    {
        int decimals = Math.Max(0, (int)Math.Ceiling(-Math.Log10(step) - 1e-9));
        return Math.Round(value, decimals).ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
    }

    private static SKPaint Text(float size, bool bold = false) => new()
    {
        Typeface = Typeface.Value,
        TextSize = size,
        IsAntialias = true,
        Color = SKColors.Black,
        FakeBoldText = bold,
    };

    private static void DrawCentered(SKCanvas canvas, string text, float x, float y, SKPaint paint) =>
        canvas.DrawText(text, x - paint.MeasureText(text) / 2, y, paint);

    private static byte[] Encode(SKSurface surface)
    {
        using var image = surface.Snapshot();
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }
}
