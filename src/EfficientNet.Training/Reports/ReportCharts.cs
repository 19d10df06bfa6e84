using System.Globalization;
using Microsoft.ML.EfficientNet.Drawing;
using SkiaSharp;
using static Microsoft.ML.EfficientNet.Drawing.ChartDrawing;

namespace EfficientNet.Training.Reports;

/// <summary>
/// The report's two PNG charts, drawn with SkiaSharp through <see cref="ChartDrawing"/> (which says why not ScottPlot).
/// </summary>
internal static class ReportCharts
{
    /// <summary>One line of a chart: a name for the legend, a colour, and (x, y) points; NaN y values are skipped.</summary>
    internal sealed record Series(string Name, SKColor Color, IReadOnlyList<(double X, double Y)> Points, bool Dashed = false);

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
        return EncodePng(surface);
    }

    /// <summary>A confusion-matrix heatmap: cells shaded by the share of the true class (row), each labelled with its count.</summary>
    internal static byte[] Heatmap(string title, string subtitle, IReadOnlyList<string> classes, long[,] counts)
    {
        int k = classes.Count;
        const int cell = 64;
        using var measure = Text(13);
        float labelWidth = classes.Select(c => measure.MeasureText(c)).DefaultIfEmpty(0).Max() + 16;
        float left = labelWidth + 40, top = 90, gridSide = k * cell;
        using var subtitlePaint = Text(14);
        // Wide enough for the subtitle, which carries the interval, however few the classes.
        int width = (int)Math.Max(left + gridSide + 110, subtitlePaint.MeasureText(subtitle) + 40), height = (int)(top + gridSide + labelWidth + 50);
        using var surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using var titlePaint = Text(18, bold: true);
        DrawCentered(canvas, title, width / 2f, 32, titlePaint);
        DrawCentered(canvas, subtitle, width / 2f, 58, subtitlePaint);

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
        return EncodePng(surface);
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
        // Axes end on ticks: epochs step by at least 1.
        var xTicks = Ticks(xMin, xMax, 10, minStep: 1);
        var yTicks = Ticks(yMin, yMax, 6);
        (xMin, xMax, yMin, yMax) = (xTicks[0], xTicks[^1], yTicks[0], yTicks[^1]);
        float X(double x) => plot.Left + (float)((x - xMin) / (xMax - xMin)) * plot.Width;
        float Y(double y) => plot.Bottom - (float)((y - yMin) / (yMax - yMin)) * plot.Height;

        using var gridPaint = new SKPaint { Style = SKPaintStyle.Stroke, Color = new SKColor(225, 225, 225), StrokeWidth = 1, IsAntialias = true };
        using var framePaint = new SKPaint { Style = SKPaintStyle.Stroke, Color = SKColors.Black, StrokeWidth = 1.5f, IsAntialias = true };
        using var tickText = Text(12);
        foreach (double y in yTicks)
        {
            canvas.DrawLine(plot.Left, Y(y), plot.Right, Y(y), gridPaint);
            string text = TickText(y, yTicks);
            canvas.DrawText(text, plot.Left - 6 - tickText.MeasureText(text), Y(y) + 4, tickText);
        }
        foreach (double x in xTicks)
        {
            canvas.DrawLine(X(x), plot.Top, X(x), plot.Bottom, gridPaint);
            DrawCentered(canvas, TickText(x, xTicks), X(x), plot.Bottom + 18, tickText);
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

        var shown = series.Where(s => s.Points.Any(p => double.IsFinite(p.Y))).Select(s => new LegendEntry(s.Name, s.Color, Dashed: s.Dashed)).ToList();
        ChartDrawing.Legend(canvas, plot, shown, top: true, textSize: 12);
    }

    /// <summary>White → dark blue as <paramref name="share"/> goes 0 → 1.</summary>
    private static SKColor Shade(double share)
    {
        share = Math.Clamp(share, 0, 1);
        byte Mix(byte from, byte to) => (byte)Math.Round(from + (to - from) * share);
        return new SKColor(Mix(247, 8), Mix(251, 48), Mix(255, 107));
    }
}
