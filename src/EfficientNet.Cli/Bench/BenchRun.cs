using System.Globalization;
using EfficientNet.Cli.Bench.Images;
using EfficientNet.Cli.Bench.Machine;
using EfficientNet.Cli.Bench.Measuring;
using EfficientNet.Cli.Bench.Peers;
using EfficientNet.Cli.Bench.Reporting;
using EfficientNet.Cli.Bench.Targets;
using Microsoft.ML;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Data;
using Microsoft.ML.EfficientNet.Onnx;
using Microsoft.ML.EfficientNet.Quantization;
using Microsoft.ML.EfficientNet.Scoring;
using Microsoft.ML.EfficientNet.Weights;
using Spectre.Console;

namespace EfficientNet.Cli.Bench;

/// <summary>
/// One run of <c>efficientnet bench</c>, in the order that keeps the figures fair: start-up first (in a process that has
/// not scored yet), then the per-variant table (its peak RSS then covers that variant only), then every peer's rows
/// opened and timed together in rounds, then the one-thread time split and the kernel times. Every row scores the same
/// exported network, with seeded random weights (speed does not depend on their values).
/// </summary>
internal static class BenchRun
{
    private const string PathColumn = "Path";
    private const string FeaturesColumn = "Features";
    private const int Int8CalibrationImages = 64;
    private const int KernelBatch = 8;

    /// <summary>Measures everything for <paramref name="variant"/> on <paramref name="files"/>; <paramref name="command"/> is the command line the report quotes.</summary>
    public static BenchReport Run(EfficientNetVariant variant, string[] files, int runs, int? resolution, List<EfficientNetVariant> tableVariants,
        int? variantResolution, bool dnn, string command)
    {
        int cores = Environment.ProcessorCount;
        string loadBefore = MachineDescription.LoadAverage();
        var notes = new List<string>();

        var ml = new MLContext(seed: 1);
        var paths = ml.Data.LoadFromEnumerable(files.Select(f => new PathRow { Path = f }).ToList());
        var warmPaths = ml.Data.LoadFromEnumerable(files.Take(Math.Min(files.Length, 2 * cores * EfficientNetFeaturizerOptions.Defaults.BatchSize)).Select(f => new PathRow { Path = f }).ToList());

        // Start-up first, in a process that has not scored yet: Fit (weights, export, sessions) and the first feature.
        Status("start-up: Fit → first feature, with nothing cached, with the export on disk, with it in memory");
        var startup = FeaturizerStartup.Measure(variant.Name, resolution, warmPaths, PathColumn);

        // One exported model for every row, so that all score the same network.
        string work = Directory.CreateTempSubdirectory("efficientnet-bench-").FullName;
        try
        {
            var checkpoint = WeightsResolver.Resolve(new WeightsRequest(variant) { UseRandomWeights = true, ReplaceHead = true });
            byte[] onnx = EfficientNetOnnxExporter.Export(checkpoint, new OnnxExportOptions { Outputs = OnnxOutputs.Features, Resolution = resolution });
            string onnxPath = Path.Combine(work, "features.onnx");
            File.WriteAllBytes(onnxPath, onnx);
            var metadata = OnnxModelMetadata.Read(onnx);
            var recipe = metadata.Preprocessing;

            // The int8 model of the same weights, calibrated on the first images (the featurizer's Quantization option
            // does the same on the data it is fitted on; one file here so that every int8 row scores the same model).
            Status("int8: quantising on the first images");
            var calibration = files.Take(Int8CalibrationImages).ToArray();
            var quantized = EfficientNetQuantizer.Quantize(onnx, new FileImageSet(calibration, new int[calibration.Length], [FileImageSet.UnlabelledClass]),
                new QuantizationOptions { CalibrationImages = calibration.Length });
            byte[] int8 = quantized.Model;
            string int8Path = Path.Combine(work, "features.int8.onnx");
            File.WriteAllBytes(int8Path, int8);
            notes.Add(string.Create(CultureInfo.InvariantCulture, $"int8: `EfficientNetQuantizer` defaults ({QuantizationOptions.Defaults.Method.ToString().ToLowerInvariant()} ranges, layers {QuantizationOptions.Defaults.Layers}) ") +
                string.Create(CultureInfo.InvariantCulture, $"calibrated on the first {calibration.Length} images in {quantized.Report.Seconds:F1} s; mean cosine to the fp32 features {quantized.Report.MeanCosine:F4} ") +
                "(random weights; accuracy on a trained model is in docs/QUANTIZATION.md).");

            // The per-variant table first: its peak RSS then covers that variant, not memory the main table's open rows leave behind.
            var variantRows = new List<VariantRow>();
            foreach (var v in tableVariants)
            {
                Status($"variant {v.Name}");
                variantRows.Add(VariantMeasurement.Measure(ml, v, variantResolution, paths, warmPaths, PathColumn, FeaturesColumn, files.Length, runs, work));
            }

            List<Row> rows;
            TimeSplit split;
            var kernels = new List<KernelRow>();
            int kernelBatch;
            using (var timedRows = new TimedRows())
            {
                FeaturizerPeer.AddFp32(timedRows, ml, variant, paths, PathColumn, FeaturesColumn, onnxPath, cores);
                FeaturizerPeer.AddInt8(timedRows, ml, variant, paths, PathColumn, FeaturesColumn, int8Path, cores);
                PlainChainPeer.Add(timedRows, ml, variant, paths, PathColumn, FeaturesColumn, onnx, onnxPath, metadata, work, cores);

                var (pixels, prepSeconds) = FeaturizerMeasurements.PreparedPixels(ml, paths, PathColumn, recipe, files.Length);
                var grid = OnnxRuntimeSetting.Grid(cores).Distinct().ToList();
                RawOnnxRuntimePeer.Add(timedRows, onnx, int8, pixels, files.Length, grid);

                // Eager rows are timed in their own loops (not in the rounds): libtorch and PyTorch run no ML.NET pipeline.
                var eager = new List<Row>();
                var torch = TorchPeer.Run(variant.Name.Replace('-', '_'), metadata.Resolution, Path.Combine(work, "torch.onnx"), files.Length, out string? noTorch);
                // torchvision's weights as PyTorch saved them (both files and TorchSharp hold the same numbers), else seeded random ones.
                var same = torch is null ? WeightsResolver.Resolve(new WeightsRequest(variant) { UseRandomWeights = true })
                    : EfficientNetCheckpoint.Load(Path.Combine(work, "torch.onnx.pth"), variant);
                Status("TorchSharp eager");
                eager.AddRange(TorchSharpEager.Measure(same, metadata.Resolution, files.Length)
                    .Select(e => new Row(TorchSharpEager.Group, $"batch {e.BatchSize}, libtorch threads {e.Threads}, eval + no_grad", e.ImagesPerSecond, false)));
                if (torch is { } peer)
                {
                    TorchOnnxPeer.Add(timedRows, same, metadata.Resolution, recipe, pixels, files.Length, Path.Combine(work, "torch.onnx"), grid);
                    eager.AddRange(peer.Eager.Select(e => new Row(TorchPeer.EagerGroup, $"batch {e.BatchSize}, torch.set_num_threads({e.Threads}), inference_mode", e.ImagesPerSecond, false)));
                    notes.Add($"{peer.Versions} (Debian's python3-torch): torch.onnx.export of torchvision's model with seeded random weights (our --bare file is exported from the same state dict), opset 17, constant folding; eager timed in its own process beforehand.");
                }
                else notes.Add($"torch.onnx.export and PyTorch eager rows left out: PyTorch is not available ({noTorch}).");

                if (dnn) DnnFeaturizerPeer.Add(timedRows, ml, paths, PathColumn, FeaturesColumn);
                else notes.Add("DnnFeaturizeImage ResNet18 left out (--skip-dnn).");

                Status($"timing {timedRows.Count} rows in {runs} round(s) of {files.Length} images each");
                var timed = timedRows.Time(paths, warmPaths, FeaturesColumn, files.Length, runs);
                timed.AddRange(eager);
                rows = timedRows.MarkBest(timed);

                // The time split: preprocessing (measured above) and inference, each on one thread.
                Status("time split: inference on one thread");
                double inferenceMs = 1000 / OnnxRuntimeThroughput.Measure(onnx, OnnxExportOptions.FeaturesOutputName, pixels, files.Length, new OnnxRuntimeSetting(1, 1, 8), 1);
                var (decodeMs, resizedMs) = FeaturizerMeasurements.PreprocessingPrefixes(ml, paths, PathColumn, recipe, files.Length);
                double preprocessingMs = prepSeconds * 1000 / files.Length;
                split = new TimeSplit(preprocessingMs, inferenceMs, cores, decodeMs, resizedMs - decodeMs, preprocessingMs - resizedMs);

                // Where inference time goes, by operator type, after ONNX Runtime's fusions: fp32 against int8.
                Status("kernel times: ONNX Runtime's profiler, fp32 and int8");
                kernelBatch = Math.Min(files.Length, KernelBatch);
                foreach (var (name, model) in new[] { ("fp32", onnx), ("int8", int8) })
                    kernels.AddRange(OnnxRuntimeThroughput.KernelTimes(model, OnnxExportOptions.FeaturesOutputName, pixels, kernelBatch).Select(k => new KernelRow(name, k.Operator, k.MillisecondsPerBatch)));
            }

            var ratios = PeerTargets.Ratios(rows);
            var machine = MachineFacts.Describe(cores, loadBefore);
            notes.Add("Weights are seeded random ones (UseRandomWeights): no pretrained file can be downloaded here; speed does not depend on the values.");
            return new BenchReport(command, machine, variant.Name, metadata.Resolution, files.Length, BenchImages.Describe(files), runs, rows, ratios, split, startup, variantRows, notes, kernels, kernelBatch);
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        }
    }

    private static void Status(string line) => AnsiConsole.MarkupLine($"[grey]{Markup.Escape(line)}[/]");

    private sealed class PathRow
    {
        public string Path { get; set; } = "";
    }
}
