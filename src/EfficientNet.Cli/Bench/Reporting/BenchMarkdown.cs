using System.Text;
using static EfficientNet.Cli.Bench.Reporting.Figures;

namespace EfficientNet.Cli.Bench.Reporting;

/// <summary>The markdown section of <c>efficientnet bench</c> (docs/BENCHMARKS.md's last section): the same tables as the console, with the command and the machine.</summary>
internal static class BenchMarkdown
{
    /// <summary>The markdown section (without markers).</summary>
    public static string Section(BenchReport report)
    {
        var m = report.Machine;
        var s = new StringBuilder();
        s.AppendLine("## `efficientnet bench`: every peer at its best configuration").AppendLine();
        s.AppendLine("Written by the command below; do not edit by hand (rerun it).").AppendLine();
        s.AppendLine("```bash").AppendLine(report.Command).AppendLine("```").AppendLine();
        s.AppendLine($"Machine: {m["cpu"]} ({m["simd"]}), {m["cores"]} cores, {m["memoryGB"]} GB; {m["os"]}; .NET {m["dotnet"]}, ONNX Runtime {m["onnxRuntime"]}, ML.NET {m["mlnet"]}; 1-minute load average {m["loadAverage"]}.");
        s.AppendLine($"EfficientNet-{report.Variant.ToUpperInvariant()} at {report.Resolution} px, {report.Images} images ({report.ImageSource}), best of {report.Runs} passes after an untimed one.").AppendLine();
        s.AppendLine("| what | setting | images/s | ms/image | best of its kind |").AppendLine("|---|---|---|---|---|");
        foreach (var row in report.Rows)
            s.AppendLine($"| {row.Group} | {row.Setting} | {F(row.ImagesPerSecond)} | {F(row.MillisecondsPerImage, 2)} | {(row.Best ? "**best**" : "")} |");
        s.AppendLine().AppendLine("| ratio of | vs | ratio | target | met |").AppendLine("|---|---|---|---|---|");
        foreach (var r in report.Ratios)
            s.AppendLine($"| {r.Of} | {r.Against} | {F(r.Value, 2)}× | {(r.Target is { } t ? $"≥ {F(t, 1)}×" : "—")} | {r.Met switch { true => "yes", false => "**no**", null => "—" }} |");
        s.AppendLine().AppendLine($"Time split per image, each on one thread: decode + resize + pixel extraction (`LoadImages → ResizeImages → ExtractPixels`) " +
            $"{F(report.Split.PreprocessingMs, 2)} ms (decode {F(report.Split.DecodeMs, 2)}, resize {F(report.Split.ResizeMs, 2)}, pixel extraction and copy {F(report.Split.ExtractMs, 2)}), inference (1 intra-op thread, batch 8) {F(report.Split.InferenceMs, 2)} ms. With both on {report.Split.Cores} cores " +
            $"and no loss, the end-to-end ceiling is {F(report.Split.CeilingImagesPerSecond)} images/s.").AppendLine();
        s.AppendLine($"Kernel time per batch of {report.KernelBatch} on prepared pixels, one intra-op thread, by operator type after ONNX Runtime's fusions (its profiler), fp32 and int8 models of the same weights:").AppendLine();
        s.AppendLine("| operator | fp32 ms | int8 ms |").AppendLine("|---|---|---|");
        foreach (var (op, fp32, int8) in Figures.KernelComparison(report)) s.AppendLine($"| {op} | {fp32} | {int8} |");
        s.AppendLine();
        s.AppendLine($"Start-up, `Fit` (random weights: make and hash them, export ONNX or find the export, open the sessions) → first feature: " +
            $"first fit in the process with an empty cache folder {F(report.Startup.FirstFitMs, 0)} ms → {F(report.Startup.FirstFeatureMs, 0)} ms; " +
            $"the export only in the cache folder (what a later process finds; this process's JIT already warm) {F(report.Startup.DiskFitMs, 0)} ms → {F(report.Startup.DiskFeatureMs, 0)} ms; " +
            $"the export in memory (a second fit in the process) {F(report.Startup.SecondFitMs, 0)} ms → {F(report.Startup.SecondFeatureMs, 0)} ms.").AppendLine();
        s.AppendLine("Per variant (featurizer at its defaults on the same images; latency: one image at a time on prepared pixels, ONNX Runtime's default threads; peak RSS of the process while that variant ran):").AppendLine();
        s.AppendLine("| variant | px | images/s | latency p50 ms | latency p95 ms | model MB | peak RSS MB |").AppendLine("|---|---|---|---|---|---|---|");
        foreach (var v in report.Variants)
            s.AppendLine($"| {v.Variant} | {v.Resolution} | {F(v.ImagesPerSecond)} | {F(v.LatencyP50Ms, 2)} | {F(v.LatencyP95Ms, 2)} | {F(v.ModelMB)} | {F(v.PeakRssMB, 0)} |");
        if (report.Notes.Count > 0)
        {
            s.AppendLine();
            foreach (string note in report.Notes) s.AppendLine($"- {note}");
        }
        return s.ToString();
    }
}
