using System.Globalization;
using Spectre.Console;
using static EfficientNet.Cli.Bench.Reporting.Figures;

namespace EfficientNet.Cli.Bench.Reporting;

/// <summary>The console tables of <c>efficientnet bench</c>: the main table, the ratios, the time split, kernel times, start-up and the per-variant table.</summary>
internal static class BenchConsole
{
    /// <summary>Prints <paramref name="report"/>.</summary>
    public static void Print(BenchReport report)
    {
        AnsiConsole.MarkupLine(Markup.Escape($"{report.Machine["cpu"]} ({report.Machine["simd"]}), {report.Machine["cores"]} cores, {report.Machine["os"]}, .NET {report.Machine["dotnet"]}, ONNX Runtime {report.Machine["onnxRuntime"]}"));
        var table = new Table().Title(Markup.Escape($"EfficientNet-{report.Variant.ToUpperInvariant()}, {report.Resolution} px, {report.Images} images, best of {report.Runs}"));
        table.AddColumns("what", "setting", "images/s", "ms/image", "best");
        foreach (var row in report.Rows)
            table.AddRow(Markup.Escape(row.Group), Markup.Escape(row.Setting), F(row.ImagesPerSecond), F(row.MillisecondsPerImage, 2), row.Best ? "✓" : "");
        AnsiConsole.Write(table);
        var ratios = new Table().Title("ratios");
        ratios.AddColumns("of", "vs", "ratio", "target", "met");
        foreach (var r in report.Ratios)
            ratios.AddRow(Markup.Escape(r.Of), Markup.Escape(r.Against), $"{F(r.Value, 2)}×", r.Target is { } t ? $"≥ {F(t, 1)}×" : "", r.Met switch { true => "yes", false => "no", null => "" });
        AnsiConsole.Write(ratios);
        AnsiConsole.WriteLine($"Per image, one thread each: preprocessing {F(report.Split.PreprocessingMs, 2)} ms (decode {F(report.Split.DecodeMs, 2)}, resize {F(report.Split.ResizeMs, 2)}, extract {F(report.Split.ExtractMs, 2)}), inference {F(report.Split.InferenceMs, 2)} ms; ceiling on {report.Split.Cores} cores {F(report.Split.CeilingImagesPerSecond)} images/s.");
        var kernelTable = new Table().Title($"kernel time per batch of {report.KernelBatch}, one thread (ms)");
        kernelTable.AddColumns("operator", "fp32", "int8");
        foreach (var (op, fp32, int8) in Figures.KernelComparison(report)) kernelTable.AddRow(Markup.Escape(op), fp32, int8);
        AnsiConsole.Write(kernelTable);
        AnsiConsole.WriteLine($"Start-up, Fit → first feature: nothing cached {F(report.Startup.FirstFitMs, 0)} → {F(report.Startup.FirstFeatureMs, 0)} ms, export on disk {F(report.Startup.DiskFitMs, 0)} → {F(report.Startup.DiskFeatureMs, 0)} ms, in memory {F(report.Startup.SecondFitMs, 0)} → {F(report.Startup.SecondFeatureMs, 0)} ms.");
        var variants = new Table().Title("per variant");
        variants.AddColumns("variant", "px", "images/s", "p50 ms", "p95 ms", "model MB", "peak RSS MB");
        foreach (var v in report.Variants)
            variants.AddRow(v.Variant, v.Resolution.ToString(CultureInfo.InvariantCulture), F(v.ImagesPerSecond), F(v.LatencyP50Ms, 2), F(v.LatencyP95Ms, 2), F(v.ModelMB), F(v.PeakRssMB, 0));
        AnsiConsole.Write(variants);
    }
}
