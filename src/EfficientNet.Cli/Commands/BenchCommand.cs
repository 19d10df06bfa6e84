using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Benchmarking;
using Microsoft.ML.EfficientNet.Data;
using Microsoft.ML.EfficientNet.IO;
using Microsoft.ML.EfficientNet.Onnx;
using Microsoft.ML.EfficientNet.Preprocessing;
using Microsoft.ML.EfficientNet.Quantization;
using Microsoft.ML.EfficientNet.Scoring;
using Microsoft.ML.EfficientNet.Weights;
using Microsoft.ML.Transforms;
using Microsoft.ML.Transforms.Onnx;
using SkiaSharp;
using Spectre.Console;

namespace EfficientNet.Cli.Commands;

/// <summary>
/// <c>efficientnet bench</c>: one run, one table, ratios. The featurizer (fp32, batched path, path column) at its defaults
/// and its best setting; the plain ML.NET chain as a user runs it (the featurizer's saved model reloaded with
/// <c>Model.Load</c>, row at a time) and ML.NET's <c>ApplyOnnxModel</c> with fixed threads; raw ONNX Runtime on prepared
/// pixels at its default and its best setting (a small grid), for the fp32 model and its int8 quantisation; our
/// <c>--bare</c> file against <c>torch.onnx.export</c>'s of torchvision's model under the same settings, and PyTorch eager,
/// when Debian's python3-torch is present (<see cref="TorchPeer"/>); ML.NET's <c>DnnFeaturizeImage</c> ResNet18; a per-variant
/// table; start-up from <c>Fit</c> to the first feature. Every peer is compared at its best configuration. Weights are
/// seeded random ones (speed does not depend on their values). Optionally writes the tables between
/// <see cref="BeginMarker"/> and <see cref="EndMarker"/> of a markdown file, and a JSON file.
/// </summary>
internal static class BenchCommand
{
    /// <summary>Starts the section <c>--output</c> writes or replaces.</summary>
    public const string BeginMarker = "<!-- bench:begin -->";

    /// <summary>Ends the section <c>--output</c> writes or replaces.</summary>
    public const string EndMarker = "<!-- bench:end -->";

    private const string PathColumn = "Path";
    private const string FeaturesColumn = "Features";

    public static Command Create()
    {
        var variant = new Option<string>("--variant") { DefaultValueFactory = _ => "b0", Description = "Variant of the main table." };
        var images = new Option<string?>("--images") { Description = "A folder of JPEGs. Default: 500×375 JPEGs generated with SkiaSharp (seeded gradients and noise, quality 90) into --generated-images." };
        var count = new Option<int>("--count") { DefaultValueFactory = _ => 160, Description = "Images per pass." };
        var runs = new Option<int>("--runs") { DefaultValueFactory = _ => 3, Description = "Timed passes per row (after one untimed); the best counts." };
        var variants = new Option<string?>("--variants") { Description = "Variants of the per-variant table, comma-separated (b0,b1,…,b7, v2-s, …). Default: b0 … b7 at 128 px (at their published sizes when --variants is given without --resolution)." };
        var resolution = new Option<int?>("--resolution") { Description = "Network input side for every row. Default: the variant's published crop (224 for B0); 128 px for the per-variant table when --variants is not given." };
        var output = new Option<string?>("--output") { Description = "A markdown file (e.g. docs/BENCHMARKS.md) whose bench section is written or replaced." };
        var json = new Option<string?>("--json") { Description = "A JSON file with every figure." };
        var generatedImages = new Option<string>("--generated-images") { DefaultValueFactory = _ => Path.Combine("artifacts", "bench-images-generated"), Description = "Where the generated JPEGs are kept (made once) when --images is not given." };
        var skipDnn = new Option<bool>("--skip-dnn") { Description = "Leave out ML.NET's DnnFeaturizeImage ResNet18 row." };
        var command = new Command("bench", "Featurizer vs the plain ML.NET chain, raw ONNX Runtime and DnnFeaturizeImage, each at its best; per-variant speed; start-up.")
        {
            variant, images, count, runs, variants, resolution, output, json, generatedImages, skipDnn,
        };
        command.SetAction(result =>
        {
            int n = result.GetValue(count), r = result.GetValue(runs);
            if (n < 1) throw new ArgumentException($"--count must be at least 1; got {n}.");
            if (r < 1) throw new ArgumentException($"--runs must be at least 1; got {r}.");
            if (result.GetValue(resolution) is < 32) throw new ArgumentException("--resolution must be at least 32.");
            var main = EfficientNetVariant.Parse(result.GetValue(variant)!);
            string? variantList = result.GetValue(variants);
            var table = (variantList ?? "b0,b1,b2,b3,b4,b5,b6,b7").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(EfficientNetVariant.Parse).ToList();
            int? variantResolution = result.GetValue(resolution) ?? (variantList is null ? 128 : null);
            var files = ImageFiles(result.GetValue(images), result.GetValue(generatedImages)!, n);
            var report = Run(main, files, r, result.GetValue(resolution), table, variantResolution, !result.GetValue(skipDnn), CommandLine(args: Environment.GetCommandLineArgs()));
            Print(report);
            if (result.GetValue(output) is { } markdown)
            {
                WriteSection(markdown, Markdown(report));
                AnsiConsole.WriteLine($"Wrote the bench section of {markdown}.");
            }
            if (result.GetValue(json) is { } jsonPath)
            {
                AtomicFile.WriteAllBytes(jsonPath, Encoding.UTF8.GetBytes(JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase })));
                AnsiConsole.WriteLine($"Wrote {jsonPath}.");
            }
            return 0;
        });
        return command;
    }

    /// <summary>One measured row of the main table.</summary>
    /// <param name="Group">What is measured: featurizer, plain chain, raw ONNX Runtime, DnnFeaturizeImage, preprocessing.</param>
    /// <param name="Setting">The configuration.</param>
    /// <param name="ImagesPerSecond">Best pass's images per second.</param>
    /// <param name="Best">Whether this is its group's best configuration.</param>
    public sealed record Row(string Group, string Setting, double ImagesPerSecond, bool Best)
    {
        /// <summary>Milliseconds of wall clock per image.</summary>
        public double MillisecondsPerImage => 1000 / ImagesPerSecond;
    }

    /// <summary>One row of the per-variant table.</summary>
    public sealed record VariantRow(string Variant, int Resolution, double ImagesPerSecond, double LatencyP50Ms, double LatencyP95Ms, double ModelMB, double PeakRssMB);

    /// <summary>A ratio of one best (default the fp32 featurizer's) to a peer's best, with the issue's target when it has one.</summary>
    public sealed record Ratio(string Against, double Value, double? Target, string Of = "featurizer fp32 (best)")
    {
        /// <summary>Whether the target is met (null when there is none).</summary>
        public bool? Met => Target is { } t ? Value >= t : null;
    }

    /// <summary>Where the CPU time of one image goes, each on one thread.</summary>
    /// <param name="PreprocessingMs">Decode + resize + pixel extraction per image, one thread.</param>
    /// <param name="InferenceMs">Inference per image, one intra-op thread, batch 8.</param>
    /// <param name="Cores">Cores the ceiling assumes.</param>
    /// <param name="DecodeMs">Of the preprocessing: <c>LoadImages</c> alone.</param>
    /// <param name="ResizeMs">Of the preprocessing: what <c>ResizeImages</c> adds.</param>
    /// <param name="ExtractMs">Of the preprocessing: what <c>ExtractPixels</c> and the copy into the batch add.</param>
    public sealed record TimeSplit(double PreprocessingMs, double InferenceMs, int Cores, double DecodeMs = 0, double ResizeMs = 0, double ExtractMs = 0)
    {
        /// <summary>Images per second if preprocessing and inference shared the cores with no loss.</summary>
        public double CeilingImagesPerSecond => Cores * 1000 / (PreprocessingMs + InferenceMs);
    }

    /// <summary>Kernel time of one operator type in one model (fp32 or int8), one thread, per batch.</summary>
    public sealed record KernelRow(string Model, string Operator, double MillisecondsPerBatch);

    /// <summary>Everything one run measured.</summary>
    public sealed record Report(string Command, Dictionary<string, string> Machine, string Variant, int Resolution, int Images, string ImageSource, int Runs,
        List<Row> Rows, List<Ratio> Ratios, TimeSplit Split, FeaturizerStartup Startup, List<VariantRow> Variants, List<string> Notes, List<KernelRow> Kernels, int KernelBatch);

    private static Report Run(EfficientNetVariant variant, string[] files, int runs, int? resolution, List<EfficientNetVariant> tableVariants,
        int? variantResolution, bool dnn, string command)
    {
        int cores = Environment.ProcessorCount;
        string loadBefore = MachineDescription.LoadAverage();
        var rows = new List<Row>();
        var notes = new List<string>();
        void Status(string line) => AnsiConsole.MarkupLine($"[grey]{Markup.Escape(line)}[/]");

        var ml = new MLContext(seed: 1);
        var paths = ml.Data.LoadFromEnumerable(files.Select(f => new PathRow { Path = f }).ToList());
        var warmPaths = ml.Data.LoadFromEnumerable(files.Take(Math.Min(files.Length, 2 * cores * EfficientNetFeaturizerOptions.Defaults.BatchSize)).Select(f => new PathRow { Path = f }).ToList());

        // Start-up first, in a process that has not scored yet: Fit (weights, export, sessions) and the first feature.
        Status("start-up: Fit → first feature, with nothing cached, with the export on disk, with it in memory");
        var startup = FeaturizerMeasurements.Startup(variant.Name, resolution, warmPaths, PathColumn);

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
            TimeSplit split;
            var kernels = new List<KernelRow>();
            var eager = new List<Row>();
            int kernelBatch = 0;

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

            // (e) Per-variant table, first: its peak RSS then covers that variant, not memory the main table's 15 open rows leave behind.
            var variantRows = new List<VariantRow>();
            foreach (var v in tableVariants)
            {
                Status($"variant {v.Name}");
                variantRows.Add(MeasureVariant(ml, v, variantResolution, paths, warmPaths, files.Length, runs, work));
            }

            // Every row is opened first and then timed in rounds (each row once per round), so that load from outside the
            // process falls on all rows alike. Then the per-variant table and the one-thread time split.
            var candidates = new List<Candidate>();
            var resources = new List<IDisposable>();
            try
            {
                // (a) The featurizer, default settings, then a small grid.
                var featurizerSettings = new List<(string Name, EfficientNetFeaturizerOptions Options)>
                {
                    ($"defaults (batch {EfficientNetFeaturizerOptions.Defaults.BatchSize}, {cores} batches at once × 1 intra-op thread)", new EfficientNetFeaturizerOptions()),
                };
                foreach (int batch in new[] { 16, 32 })
                    featurizerSettings.Add(($"batch {batch}, {cores} batches at once × 1 intra-op thread", new EfficientNetFeaturizerOptions { BatchSize = batch }));
                foreach (int batch in new[] { 8, 32 })
                    featurizerSettings.Add(($"batch {batch}, 1 batch at a time × {cores} intra-op threads", new EfficientNetFeaturizerOptions { BatchSize = batch, ConcurrentBatches = 1, IntraOpThreads = cores }));
                foreach (var (name, options) in featurizerSettings)
                {
                    options.WeightsPath = onnxPath;
                    var featurizer = ml.Transforms.EfficientNetFeaturizer(variant.Name, FeaturesColumn, PathColumn, options).Fit(paths);
                    resources.Add(featurizer);
                    candidates.Add(new(FeaturizerGroup, name, featurizer, true));
                }
                // The int8 featurizer: its defaults, smaller batches (int8 kernels are faster on cache-sized activations), one session with all cores.
                var int8Settings = new List<(string Name, EfficientNetFeaturizerOptions Options)>
                {
                    ($"defaults (batch {EfficientNetFeaturizerOptions.Defaults.BatchSize}, {cores} batches at once × 1 intra-op thread)", new EfficientNetFeaturizerOptions()),
                    ($"batch 4, {cores} batches at once × 1 intra-op thread", new EfficientNetFeaturizerOptions { BatchSize = 4 }),
                    ($"batch 8, 1 batch at a time × {cores} intra-op threads", new EfficientNetFeaturizerOptions { BatchSize = 8, ConcurrentBatches = 1, IntraOpThreads = cores }),
                };
                foreach (var (name, options) in int8Settings)
                {
                    options.WeightsPath = int8Path;
                    var featurizer = ml.Transforms.EfficientNetFeaturizer(variant.Name, FeaturesColumn, PathColumn, options).Fit(paths);
                    resources.Add(featurizer);
                    candidates.Add(new(Int8FeaturizerGroup, name, featurizer, true));
                }

                // (b) The plain ML.NET chain as a user runs it: the featurizer's saved model, reloaded.
                string zip = Path.Combine(work, "featurizer.zip");
                var fitted = ml.Transforms.EfficientNetFeaturizer(variant.Name, FeaturesColumn, PathColumn, new EfficientNetFeaturizerOptions { WeightsPath = onnxPath }).Fit(paths);
                resources.Add(fitted);
                ml.Model.Save(fitted, paths.Schema, zip);
                // The same chain in process, unsaved: for reference only (docs/BENCHMARKS.md says why it is not the baseline).
                candidates.Add(new(ChainGroup, "featurizer's StandardChain in process, unsaved (reference, not a baseline)", fitted.StandardChain, false));
                var loaded = new MLContext(seed: 1).Model.Load(zip, out _);
                if (loaded is IDisposable d) resources.Add(d);
                candidates.Add(new(ChainGroup, ReloadedSetting, loaded, true));
                string rowModel = Path.Combine(work, "row.onnx");
                File.WriteAllBytes(rowModel, OnnxModelEditing.WithRowOutput(onnx, OnnxExportOptions.FeaturesOutputName, metadata.FeatureWidth));
                foreach (int threads in new[] { 1, cores }.Distinct())
                {
                    var chain = ml.Transforms.LoadImages("Image", null, PathColumn)
                        .Append(RecipeTransforms.Resize(ml.Transforms, recipe, "Image", "Resized"))
                        .Append(RecipeTransforms.Extract(ml.Transforms, "Resized", OnnxExportOptions.ImageInputName))
                        .Append(ml.Transforms.ApplyOnnxModel(new OnnxOptions
                        {
                            ModelFile = rowModel, InputColumns = [OnnxExportOptions.ImageInputName], OutputColumns = [OnnxExportOptions.FeaturesOutputName],
                            IntraOpNumThreads = threads, InterOpNumThreads = 1, RecursionLimit = 100,
                        }))
                        .Append(ml.Transforms.CopyColumns(FeaturesColumn, OnnxExportOptions.FeaturesOutputName));
                    var transformer = chain.Fit(paths);
                    foreach (var t in transformer) if (t is IDisposable disposable) resources.Add(disposable);
                    candidates.Add(new(ChainGroup, $"LoadImages → ResizeImages → ExtractPixels → ApplyOnnxModel, intra-op {threads}, inter-op 1", transformer, true));
                }

                // (c) Raw ONNX Runtime on prepared pixels (the featurizer's own preprocessing, done beforehand).
                var (pixels, prepSeconds) = FeaturizerMeasurements.PreparedPixels(ml, paths, PathColumn, recipe, files.Length);
                var ortPasses = new List<(Action Pass, Action? WarmUp)>();
                var grid = OnnxRuntimeSetting.Grid(cores).Distinct().ToList();
                var ortRows = new List<(string Group, OnnxRuntimeSetting Setting)>();
                foreach (var (group, model) in new[] { (OrtGroup, onnx), (Int8OrtGroup, int8) })
                {
                    foreach (var setting in grid)
                    {
                        var (session, pass, warmUp) = OnnxRuntimeThroughput.Open(model, OnnxExportOptions.FeaturesOutputName, pixels, files.Length, setting);
                        resources.Add(session);
                        ortPasses.Add((pass, warmUp));
                        ortRows.Add((group, setting));
                    }
                }

                // (c') Graph against graph: our --bare file and torch.onnx.export's of torchvision's model, both taking
                // normalised pixels, under the same session settings, so only what is in the file counts.
                var torch = TorchPeer.Run(variant.Name.Replace('-', '_'), metadata.Resolution, Path.Combine(work, "torch.onnx"), files.Length, out string? noTorch);
                // torchvision's weights as PyTorch saved them (both files and TorchSharp hold the same numbers), else seeded random ones.
                var same = torch is null ? WeightsResolver.Resolve(new WeightsRequest(variant) { UseRandomWeights = true })
                    : EfficientNetCheckpoint.Load(Path.Combine(work, "torch.onnx.pth"), variant);
                Status("TorchSharp eager");
                eager.AddRange(TorchSharpEager.Measure(same, metadata.Resolution, files.Length)
                    .Select(e => new Row(TorchSharpGroup, $"batch {e.BatchSize}, libtorch threads {e.Threads}, eval + no_grad", e.ImagesPerSecond, false)));
                if (torch is { } peer)
                {
                    byte[] bare = EfficientNetOnnxExporter.Export(same, new OnnxExportOptions { Bare = true, Resolution = metadata.Resolution });
                    int rawLength = 3 * recipe.ResizeSize * recipe.ResizeSize, cropLength = 3 * recipe.CropSize * recipe.CropSize;
                    var normalized = new float[files.Length * cropLength];
                    for (int i = 0; i < files.Length; i++) recipe.Normalize(pixels.AsSpan(i * rawLength, rawLength), normalized.AsSpan(i * cropLength, cropLength));
                    foreach (var (group, model) in new[] { (BareGroup, bare), (TorchOnnxGroup, File.ReadAllBytes(Path.Combine(work, "torch.onnx"))) })
                    {
                        foreach (var setting in grid)
                        {
                            var (session, pass, warmUp) = OnnxRuntimeThroughput.Open(model, OnnxExportOptions.LogitsOutputName, normalized, files.Length, setting);
                            resources.Add(session);
                            ortPasses.Add((pass, warmUp));
                            ortRows.Add((group, setting));
                        }
                    }
                    eager.AddRange(peer.Eager.Select(e => new Row(EagerGroup, $"batch {e.BatchSize}, torch.set_num_threads({e.Threads}), inference_mode", e.ImagesPerSecond, false)));
                    notes.Add($"{peer.Versions} (Debian's python3-torch): torch.onnx.export of torchvision's model with seeded random weights (our --bare file is exported from the same state dict), opset 17, constant folding; eager timed in its own process beforehand.");
                }
                else notes.Add($"torch.onnx.export and PyTorch eager rows left out: PyTorch is not available ({noTorch}).");

                // (d) ML.NET's DnnFeaturizeImage ResNet18.
                if (dnn)
                {
                    var model = DnnFeaturizer(ml, paths);
                    foreach (var t in model) if (t is IDisposable disposable) resources.Add(disposable);
                    candidates.Add(new(DnnGroup, "LoadImages → ResizeImages(224) → ExtractPixels → DnnFeaturizeImage, row at a time, ORT default threads (it has no thread setting)", model, true));
                }
                else notes.Add("DnnFeaturizeImage ResNet18 left out (--skip-dnn).");

                Status($"timing {candidates.Count + ortPasses.Count} rows in {runs} round(s) of {files.Length} images each");
                var passes = new List<(Action Pass, Action? WarmUp)>();
                foreach (var c in candidates) passes.Add((() => FeaturizerMeasurements.Consume(c.Transformer.Transform(paths), FeaturesColumn, files.Length), () => FeaturizerMeasurements.Consume(c.Transformer.Transform(warmPaths), FeaturesColumn, -1)));
                passes.AddRange(ortPasses);
                double[] measured = Throughput.BestImagesPerSecond(passes, files.Length, runs);
                var timed = candidates.Select((c, i) => new Row(c.Group, c.Setting, measured[i], false)).ToList();
                timed.AddRange(ortRows.Select((g, i) => new Row(g.Group, g.Setting == OnnxRuntimeSetting.Default ? $"{g.Setting} (default session)" : g.Setting.ToString(), measured[candidates.Count + i], false)));
                timed.AddRange(eager);
                foreach (var group in timed.GroupBy(t => t.Group))
                {
                    var eligible = group.Where(t => candidates.FirstOrDefault(c => c.Group == t.Group && c.Setting == t.Setting) is not { Eligible: false }).ToList();
                    double top = eligible.Max(t => t.ImagesPerSecond);
                    rows.AddRange(group.Select(t => t with { Best = eligible.Contains(t) && t.ImagesPerSecond == top }));
                }

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
            finally
            {
                foreach (var resource in resources) resource.Dispose();
            }

            var best = rows.Where(x => x.Best).GroupBy(x => x.Group).ToDictionary(x => x.Key, x => x.First());
            double featurizerBest = best[FeaturizerGroup].ImagesPerSecond;
            var ratios = new List<Ratio>
            {
                new("raw ONNX Runtime, prepared pixels (best)", featurizerBest / best[OrtGroup].ImagesPerSecond, 0.9),
                new("plain ML.NET chain (best)", featurizerBest / best[ChainGroup].ImagesPerSecond, 1.8),
            };
            if (best.TryGetValue(DnnGroup, out var resnet)) ratios.Add(new("DnnFeaturizeImage ResNet18", featurizerBest / resnet.ImagesPerSecond, 6.0));
            ratios.Add(new("raw ONNX Runtime, default session (batch 32)", featurizerBest / rows.First(x => x.Group == OrtGroup).ImagesPerSecond, null));
            // Issue 11's int8 target: at least 1.8× the fp32 model, each at its best.
            ratios.Add(new("featurizer fp32 (best)", best[Int8FeaturizerGroup].ImagesPerSecond / featurizerBest, 1.8, "featurizer int8 (best)"));
            ratios.Add(new("raw ONNX Runtime fp32, prepared pixels (best)", best[Int8OrtGroup].ImagesPerSecond / best[OrtGroup].ImagesPerSecond, 1.8, "raw ONNX Runtime int8, prepared pixels (best)"));
            if (best.TryGetValue(TorchOnnxGroup, out var torchOnnx) && best.TryGetValue(BareGroup, out var ours))
                ratios.Add(new($"{TorchOnnxGroup} (best)", ours.ImagesPerSecond / torchOnnx.ImagesPerSecond, 1.1, $"{BareGroup} (best)"));
            if (best.TryGetValue(TorchSharpGroup, out var torchSharpBest))
                ratios.Add(new($"{TorchSharpGroup} (best)", featurizerBest / torchSharpBest.ImagesPerSecond, null));
            if (best.TryGetValue(EagerGroup, out var eagerBest))
                ratios.Add(new($"{EagerGroup} (best)", featurizerBest / eagerBest.ImagesPerSecond, null));
            ratios.Add(new("plain ML.NET chain, reloaded, ORT default threads", featurizerBest / rows.First(x => x.Setting == ReloadedSetting).ImagesPerSecond, null));

            var machine = new Dictionary<string, string>
            {
                ["cpu"] = MachineDescription.CpuModel(),
                ["simd"] = MachineDescription.SimdFlags(),
                ["cores"] = cores.ToString(CultureInfo.InvariantCulture),
                ["memoryGB"] = (GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 1e9).ToString("F0", CultureInfo.InvariantCulture),
                ["os"] = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
                ["dotnet"] = Environment.Version.ToString(),
                ["onnxRuntime"] = OnnxRuntimeThroughput.Version(),
                ["mlnet"] = InformationalVersion(typeof(MLContext).Assembly),
                // Load from other processes on a shared machine moves every figure; ratios from one run hold better.
                ["loadAverage"] = $"{loadBefore} at the start, {MachineDescription.LoadAverage()} at the end",
            };
            string source = files.Length > 0 && Path.GetDirectoryName(files[0]) is { } dir && File.Exists(Path.Combine(dir, GeneratedMarker))
                ? "generated: 500×375 JPEGs, seeded smooth gradients + noise, quality 90 (SkiaSharp)" : $"{Path.GetDirectoryName(files[0])}";
            notes.Add("Weights are seeded random ones (UseRandomWeights): no pretrained file can be downloaded here; speed does not depend on the values.");
            return new Report(command, machine, variant.Name, metadata.Resolution, files.Length, source, runs, rows, ratios, split, startup, variantRows, notes, kernels, kernelBatch);
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        }
    }

    private const string FeaturizerGroup = "featurizer fp32";
    private const string Int8FeaturizerGroup = "featurizer int8";
    private const string Int8OrtGroup = "raw ONNX Runtime int8, prepared pixels";
    private const string BareGroup = "our --bare ONNX, normalised pixels";
    private const string TorchOnnxGroup = "torch.onnx.export's ONNX, normalised pixels";
    private const string EagerGroup = "PyTorch eager, random input";
    private const string TorchSharpGroup = "TorchSharp eager, random input";
    private const int Int8CalibrationImages = 64;
    private const int KernelBatch = 8;
    private const string ChainGroup = "plain ML.NET chain";
    private const string OrtGroup = "raw ONNX Runtime, prepared pixels";
    private const string DnnGroup = "DnnFeaturizeImage ResNet18";
    private const string ReloadedSetting = "saved model reloaded (Model.Load), row at a time, ORT default threads";

    /// <summary>A transformer to time, and whether it may be its group's best (the unsaved chain is a reference only).</summary>
    private sealed record Candidate(string Group, string Setting, ITransformer Transformer, bool Eligible);

    private static TransformerChain<TransformerChain<ColumnCopyingTransformer>> DnnFeaturizer(MLContext ml, IDataView paths)
    {
        var pipeline = ml.Transforms.LoadImages("Image", null, PathColumn)
            .Append(ml.Transforms.ResizeImages("Resized", 224, 224, "Image"))
            .Append(ml.Transforms.ExtractPixels("Pixels", "Resized"))
            .Append(ml.Transforms.DnnFeaturizeImage(FeaturesColumn, m => m.ModelSelector.ResNet18(ml, m.OutputColumn, m.InputColumn), "Pixels"));
        return pipeline.Fit(paths);
    }

    private static VariantRow MeasureVariant(MLContext ml, EfficientNetVariant variant, int? resolution, IDataView paths, IDataView warmPaths, int count, int runs, string work)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        MachineDescription.ResetPeakResident();
        var checkpoint = WeightsResolver.Resolve(new WeightsRequest(variant) { UseRandomWeights = true, ReplaceHead = true });
        byte[] onnx = EfficientNetOnnxExporter.Export(checkpoint, new OnnxExportOptions { Outputs = OnnxOutputs.Features, Resolution = resolution });
        checkpoint = null;
        string path = Path.Combine(work, $"{variant.Name}.onnx");
        File.WriteAllBytes(path, onnx);
        var metadata = OnnxModelMetadata.Read(onnx);
        double ips;
        using (var featurizer = ml.Transforms.EfficientNetFeaturizer(variant.Name, FeaturesColumn, PathColumn, new EfficientNetFeaturizerOptions { WeightsPath = path }).Fit(paths))
            ips = Throughput.BestImagesPerSecond(() => FeaturizerMeasurements.Consume(featurizer.Transform(paths), FeaturesColumn, count), count, runs, () => FeaturizerMeasurements.Consume(featurizer.Transform(warmPaths), FeaturesColumn, -1));
        double peak = MachineDescription.PeakResidentMegabytes();
        // Batch-1 latency on prepared pixels of a few images.
        var (pixels, _) = FeaturizerMeasurements.PreparedPixels(ml, ml.Data.TakeRows(paths, 4), PathColumn, metadata.Preprocessing, Math.Min(count, 4));
        var latencies = OnnxRuntimeThroughput.Latencies(onnx, OnnxExportOptions.FeaturesOutputName, pixels, Math.Clamp(count, 10, 40));
        return new VariantRow(variant.Name, metadata.Resolution, ips, Throughput.Percentile(latencies, 0.5), Throughput.Percentile(latencies, 0.95), onnx.Length / 1e6, peak);
    }

    private sealed class PathRow
    {
        public string Path { get; set; } = "";
    }

    private const string GeneratedMarker = ".generated";

    /// <summary>The first <paramref name="count"/> JPEGs of <paramref name="folder"/>, or generated ones.</summary>
    private static string[] ImageFiles(string? folder, string generatedFolder, int count)
    {
        if (folder is not null)
        {
            if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"Image folder '{folder}' does not exist.");
            var found = Directory.GetFiles(Path.GetFullPath(folder), "*.jp*g").Order(StringComparer.Ordinal).Take(count).ToArray();
            if (found.Length < count) throw new ArgumentException($"'{folder}' has {found.Length} JPEGs; --count {count} needs {count}.");
            return found;
        }
        string generated = Path.GetFullPath(generatedFolder);
        Directory.CreateDirectory(generated);
        var files = Enumerable.Range(0, count).Select(i => Path.Combine(generated, $"image_{i:D4}.jpg")).ToArray();
        for (int i = 0; i < count; i++)
            if (!File.Exists(files[i])) WriteJpeg(files[i], seed: i);
        File.WriteAllText(Path.Combine(generated, GeneratedMarker), "500x375 JPEGs from efficientnet bench: seeded gradients + noise, quality 90\n");
        return files;
    }

    /// <summary>A 500×375 JPEG at quality 90: a few seeded smooth colour waves plus pixel noise (photo-like entropy).</summary>
    internal static void WriteJpeg(string path, int seed)
    {
        const int width = 500, height = 375;
        var random = new Random(seed);
        var waves = Enumerable.Range(0, 3 * 3).Select(_ => (Fx: random.NextDouble() * 0.04, Fy: random.NextDouble() * 0.04, Phase: random.NextDouble() * 6.283, Amp: 30 + random.NextDouble() * 50)).ToArray();
        var baseColour = new[] { random.Next(60, 200), random.Next(60, 200), random.Next(60, 200) };
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var pixels = new byte[width * height * 4];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int o = (y * width + x) * 4;
                for (int c = 0; c < 3; c++)
                {
                    double v = baseColour[c];
                    for (int w = 0; w < 3; w++)
                    {
                        var (fx, fy, phase, amp) = waves[c * 3 + w];
                        v += amp * Math.Sin(fx * x + fy * y + phase);
                    }
                    v += (random.NextDouble() - 0.5) * 40;
                    pixels[o + c] = (byte)Math.Clamp(v, 0, 255);
                }
                pixels[o + 3] = 255;
            }
        System.Runtime.InteropServices.Marshal.Copy(pixels, 0, bitmap.GetPixels(), pixels.Length);
        using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 90);
        using var stream = File.Create(path);
        data.SaveTo(stream);
    }

    private static string InformationalVersion(System.Reflection.Assembly assembly) =>
        (System.Reflection.CustomAttributeExtensions.GetCustomAttribute<System.Reflection.AssemblyInformationalVersionAttribute>(assembly)?.InformationalVersion ?? assembly.GetName().Version?.ToString() ?? "").Split('+')[0];

    private static string CommandLine(string[] args) => "efficientnet " + string.Join(' ', args.Skip(1).Select(a => a.Contains(' ') ? $"\"{a}\"" : a));

    private static string F(double v, int digits = 1) => v.ToString("N" + digits, CultureInfo.InvariantCulture);

    private static void Print(Report report)
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
        foreach (var (op, fp32, int8) in KernelComparison(report)) kernelTable.AddRow(Markup.Escape(op), fp32, int8);
        AnsiConsole.Write(kernelTable);
        AnsiConsole.WriteLine($"Start-up, Fit → first feature: nothing cached {F(report.Startup.FirstFitMs, 0)} → {F(report.Startup.FirstFeatureMs, 0)} ms, export on disk {F(report.Startup.DiskFitMs, 0)} → {F(report.Startup.DiskFeatureMs, 0)} ms, in memory {F(report.Startup.SecondFitMs, 0)} → {F(report.Startup.SecondFeatureMs, 0)} ms.");
        var variants = new Table().Title("per variant");
        variants.AddColumns("variant", "px", "images/s", "p50 ms", "p95 ms", "model MB", "peak RSS MB");
        foreach (var v in report.Variants)
            variants.AddRow(v.Variant, v.Resolution.ToString(CultureInfo.InvariantCulture), F(v.ImagesPerSecond), F(v.LatencyP50Ms, 2), F(v.LatencyP95Ms, 2), F(v.ModelMB), F(v.PeakRssMB, 0));
        AnsiConsole.Write(variants);
    }

    /// <summary>One line per operator type of either model, slowest first, with a total line; "" where a model has no such kernel.</summary>
    private static IEnumerable<(string Operator, string Fp32, string Int8)> KernelComparison(Report report)
    {
        string Time(string model, string op) => report.Kernels.FirstOrDefault(k => k.Model == model && k.Operator == op) is { } k ? F(k.MillisecondsPerBatch) : "";
        foreach (string op in report.Kernels.GroupBy(k => k.Operator).OrderByDescending(g => g.Max(k => k.MillisecondsPerBatch)).Select(g => g.Key))
            yield return (op, Time("fp32", op), Time("int8", op));
        yield return ("total", F(report.Kernels.Where(k => k.Model == "fp32").Sum(k => k.MillisecondsPerBatch)), F(report.Kernels.Where(k => k.Model == "int8").Sum(k => k.MillisecondsPerBatch)));
    }

    /// <summary>The markdown section (without markers).</summary>
    internal static string Markdown(Report report)
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
        s.AppendLine().AppendLine("| ratio of | vs | ratio | issue 11 target | met |").AppendLine("|---|---|---|---|---|");
        foreach (var r in report.Ratios)
            s.AppendLine($"| {r.Of} | {r.Against} | {F(r.Value, 2)}× | {(r.Target is { } t ? $"≥ {F(t, 1)}×" : "—")} | {r.Met switch { true => "yes", false => "**no**", null => "—" }} |");
        s.AppendLine().AppendLine($"Time split per image, each on one thread: decode + resize + pixel extraction (`LoadImages → ResizeImages → ExtractPixels`) " +
            $"{F(report.Split.PreprocessingMs, 2)} ms (decode {F(report.Split.DecodeMs, 2)}, resize {F(report.Split.ResizeMs, 2)}, pixel extraction and copy {F(report.Split.ExtractMs, 2)}), inference (1 intra-op thread, batch 8) {F(report.Split.InferenceMs, 2)} ms. With both on {report.Split.Cores} cores " +
            $"and no loss, the end-to-end ceiling is {F(report.Split.CeilingImagesPerSecond)} images/s.").AppendLine();
        s.AppendLine($"Kernel time per batch of {report.KernelBatch} on prepared pixels, one intra-op thread, by operator type after ONNX Runtime's fusions (its profiler), fp32 and int8 models of the same weights:").AppendLine();
        s.AppendLine("| operator | fp32 ms | int8 ms |").AppendLine("|---|---|---|");
        foreach (var (op, fp32, int8) in KernelComparison(report)) s.AppendLine($"| {op} | {fp32} | {int8} |");
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

    /// <summary>Where the first line of <paramref name="text"/> from <paramref name="from"/> on that is exactly <paramref name="marker"/> starts, or -1.</summary>
    private static int MarkerLine(string text, string marker, int from)
    {
        for (int at = text.IndexOf(marker, from, StringComparison.Ordinal); at >= 0; at = text.IndexOf(marker, at + 1, StringComparison.Ordinal))
        {
            bool lineStart = at == 0 || text[at - 1] == '\n';
            int after = at + marker.Length;
            bool lineEnd = after == text.Length || text[after] == '\n' || text[after] == '\r';
            if (lineStart && lineEnd) return at;
        }
        return -1;
    }

    /// <summary>Writes <paramref name="section"/> between the markers of <paramref name="path"/>, replacing what was there, or appends it.</summary>
    internal static void WriteSection(string path, string section)
    {
        string text = File.Exists(path) ? File.ReadAllText(path) : "";
        string block = $"{BeginMarker}\n{section.TrimEnd()}\n{EndMarker}";
        // Only markers on lines of their own count, so prose that quotes them is left alone.
        int begin = MarkerLine(text, BeginMarker, 0), end = begin < 0 ? -1 : MarkerLine(text, EndMarker, begin);
        text = begin >= 0 && end > begin
            ? text[..begin] + block + text[(end + EndMarker.Length)..]
            : (text.Length == 0 ? "" : text.TrimEnd() + "\n\n") + block + "\n";
        AtomicFile.WriteAllBytes(path, Encoding.UTF8.GetBytes(text));
    }
}
