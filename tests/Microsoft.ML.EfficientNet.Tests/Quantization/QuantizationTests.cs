using Google.Protobuf;
using Microsoft.ML.Data;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Data;
using Microsoft.ML.EfficientNet.Onnx;
using Microsoft.ML.EfficientNet.Quantization;
using Microsoft.ML.EfficientNet.Scoring;
using Microsoft.ML.EfficientNet.Weights;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace Microsoft.ML.EfficientNet.Tests.Quantization;

/// <summary>
/// int8 post-training quantisation on the torchvision-initialised B0 fixture at 64 px: the graph ONNX
/// Runtime runs, the contract kept, closeness to fp32, the featurizer option and its saved model. Accuracy on a trained
/// Fashion-MNIST model is tested through the command line (EfficientNet.Cli.Tests) and measured in docs/QUANTIZATION.md.
/// </summary>
[TestClass]
public sealed class QuantizationTests
{
    public TestContext TestContext { get; set; } = null!;

    private static readonly Lazy<EfficientNetCheckpoint> B0 = new(() => EfficientNetCheckpoint.Load(Fixtures.Generated("b0.torchvision.pth"), EfficientNetVariant.B0));

    private static LabeledImageSet GoodImages() =>
        new FileImageSet(ImageData.GoodRows().Select(r => Path.Combine(ImageData.Folder, r.Path)), new int[ImageData.GoodRows().Length], [FileImageSet.UnlabelledClass]);

    /// <summary>Op types of the graph ONNX Runtime actually runs (after its QDQ fusions), read back from its optimised copy.</summary>
    private static Dictionary<string, int> RuntimeOps(byte[] model, string directory)
    {
        string optimized = Path.Combine(directory, $"optimized-{Guid.NewGuid():N}.onnx");
        using (var options = new SessionOptions { OptimizedModelFilePath = optimized })
        using (new InferenceSession(model, options))
        {
        }
        return ModelProto.Parser.ParseFrom(File.ReadAllBytes(optimized)).Graph.Node.GroupBy(n => n.OpType).ToDictionary(g => g.Key, g => g.Count());
    }

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void Int8ModelRunsIntegerKernelsAndKeepsTheContract(bool bare)
    {
        using var dir = new TemporaryDirectory();
        byte[] fp32 = EfficientNetOnnxExporter.Export(B0.Value, new OnnxExportOptions { Resolution = 64, Bare = bare, Outputs = bare ? OnnxOutputs.Logits : OnnxOutputs.LogitsAndFeatures });
        var result = EfficientNetQuantizer.Quantize(fp32, GoodImages(), new QuantizationOptions { CalibrationImages = 8, Layers = QuantizedLayers.All, MaxAccuracyDrop = 100 });
        var before = ModelProto.Parser.ParseFrom(fp32);
        var after = ModelProto.Parser.ParseFrom(result.Model);

        // Same inputs, outputs and metadata (plus how it was quantised), so evaluate, predict and the featurizer take it as they take fp32.
        CollectionAssert.AreEqual(before.Graph.Input.Select(i => i.ToString()).ToArray(), after.Graph.Input.Select(i => i.ToString()).ToArray());
        CollectionAssert.AreEqual(before.Graph.Output.Select(o => o.ToString()).ToArray(), after.Graph.Output.Select(o => o.ToString()).ToArray());
        foreach (var entry in before.MetadataProps) CollectionAssert.Contains(after.MetadataProps.ToList(), entry);
        StringAssert.Contains(after.MetadataProps.Single(p => p.Key == EfficientNetQuantizer.MetadataKey).Value, "int8");
        Assert.AreEqual(OnnxModelMetadata.Read(fp32), OnnxModelMetadata.Read(result.Model));

        // Every convolution and the classifier run as ONNX Runtime's integer kernels; no float Conv is left.
        int convolutions = before.Graph.Node.Count(n => n.OpType == "Conv");
        var ops = RuntimeOps(result.Model, dir.Path);
        TestContext.WriteLine(string.Join(", ", ops.OrderByDescending(p => p.Value).Select(p => $"{p.Key} {p.Value}")));
        Assert.AreEqual(convolutions, ops.GetValueOrDefault("QLinearConv"), "QLinearConv");
        Assert.AreEqual(0, ops.GetValueOrDefault("Conv") + ops.GetValueOrDefault("FusedConv"), "float convolutions left");
        Assert.IsTrue(ops.GetValueOrDefault("QLinearSigmoid") > 0 && ops.GetValueOrDefault("QLinearMul") > 0 && ops.GetValueOrDefault("QLinearAdd") > 0);

        // Weights are stored as int8: a quarter of the float bytes, plus scales.
        Assert.IsTrue(result.Model.Length < 0.35 * fp32.Length, $"{result.Model.Length:N0} bytes vs {fp32.Length:N0}");
        Assert.AreEqual(0, after.Graph.Initializer.Count(i => i.DataType == (int)TensorProto.Types.DataType.Float && i.Dims.Count == 4 && i.Dims[0] > 1), "float convolution weights left");

        // Close to fp32 on the calibration images (random-init weights: the features are not a trained model's, so the
        // bound is loose; accuracy on a trained model is tested in the CLI tests).
        var report = result.Report;
        TestContext.WriteLine($"bare {bare}: mean cosine {report.MeanCosine:F4} over {report.Images} images; {report.QuantizedNodes} nodes, {report.Activations} ranges");
        Assert.AreEqual(8, report.Images);
        Assert.IsTrue(report.MeanCosine >= 0.9, $"mean cosine {report.MeanCosine}");
        Assert.AreEqual(OnnxExportOptions.LogitsOutputName, report.Output);
        Assert.IsNotNull(report.Top1Agreement);
        Assert.IsNull(report.Int8Accuracy, "unlabelled images give no accuracy");
    }

    [TestMethod]
    public void LayersChooseWhatRunsAsInt8AndTheDefaultsKeepTheHeadFloat()
    {
        using var dir = new TemporaryDirectory();
        byte[] fp32 = EfficientNetOnnxExporter.Export(B0.Value, new OnnxExportOptions { Resolution = 64, Outputs = OnnxOutputs.Logits });
        var spec = EfficientNetSpec.Create(EfficientNetVariant.B0);
        // B0: stem, 16 blocks of (expansion,) depthwise and projection convolutions, head = 49; each of the 16 SE branches has 2.
        int mainConvolutions = 2 + spec.Blocks.Sum(b => (b.Expand is null ? 0 : 1) + (b.Depthwise is null ? 0 : 1) + 1);
        int squeezeBranches = spec.Blocks.Count(b => b.SqueezeExcitation is not null);
        Assert.AreEqual(49, mainConvolutions);
        Assert.AreEqual(16, squeezeBranches);

        var convolutionsOnly = RuntimeOps(EfficientNetQuantizer.Quantize(fp32, GoodImages(),
            new QuantizationOptions { CalibrationImages = 4, Layers = QuantizedLayers.Convolutions, Method = CalibrationMethod.MinMax, MaxAccuracyDrop = 100 }).Model, dir.Path);
        Assert.AreEqual(mainConvolutions, convolutionsOnly.GetValueOrDefault("QLinearConv"));
        Assert.AreEqual(0, convolutionsOnly.GetValueOrDefault("QLinearGlobalAveragePool"));
        Assert.AreEqual(0, convolutionsOnly.GetValueOrDefault("QLinearSigmoid"));

        // Random-init weights: top-1 classes are near ties, so the accuracy-aware search is off here (it is tested below).
        var defaults = RuntimeOps(EfficientNetQuantizer.Quantize(fp32, GoodImages(), new QuantizationOptions { CalibrationImages = 4, MaxAccuracyDrop = 100 }).Model, dir.Path);
        TestContext.WriteLine(string.Join(", ", defaults.OrderByDescending(p => p.Value).Select(p => $"{p.Key} {p.Value}")));
        Assert.AreEqual(mainConvolutions + 2 * squeezeBranches, defaults.GetValueOrDefault("QLinearConv"));
        Assert.AreEqual(squeezeBranches, defaults.GetValueOrDefault("QLinearGlobalAveragePool"), "the SE pools, not the head's");
        Assert.AreEqual(0, defaults.GetValueOrDefault("QGemm"), "the classifier stays float");
        Assert.AreEqual(1, defaults.GetValueOrDefault("Gemm"));
    }

    [TestMethod]
    public void AQuantizedModelAndBadOptionsAreRefused()
    {
        byte[] fp32 = EfficientNetOnnxExporter.Export(B0.Value, new OnnxExportOptions { Resolution = 32, Outputs = OnnxOutputs.Features });
        var int8 = EfficientNetQuantizer.Quantize(fp32, GoodImages(), new QuantizationOptions { CalibrationImages = 2 }).Model;
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => EfficientNetQuantizer.Quantize(int8, GoodImages())).Message, "already quantised");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => EfficientNetQuantizer.Quantize(fp32, GoodImages(), new QuantizationOptions { CalibrationImages = 0 }));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => EfficientNetQuantizer.Quantize(fp32, GoodImages(), new QuantizationOptions { Percentile = 120 }));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => EfficientNetQuantizer.Quantize(fp32, GoodImages(), new QuantizationOptions { Layers = QuantizedLayers.None }));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => EfficientNetQuantizer.Quantize(fp32, GoodImages(), new QuantizationOptions { MaxAccuracyDrop = -1 }));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => EfficientNetQuantizer.Quantize(fp32, GoodImages(), new QuantizationOptions { MaxAccuracyDrop = double.NaN }));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => EfficientNetQuantizer.Quantize(fp32, GoodImages(), new QuantizationOptions { WeightBits = 6 }));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => EfficientNetQuantizer.Quantize(fp32, GoodImages(), new QuantizationOptions { HeldOutImages = -1 }));
        var unreadable = new FileImageSet(ImageData.BadRows().Select(r => Path.Combine(ImageData.Folder, r.Path)), new int[ImageData.BadRows().Length], [FileImageSet.UnlabelledClass]);
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => EfficientNetQuantizer.Quantize(fp32, unreadable)).Message, "None of the calibration images");
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => EfficientNetQuantizer.Quantize([1, 2, 3], GoodImages())).Message, "not a readable ONNX model");
    }

    [TestMethod]
    public void TheSearchLeavesTheMostSensitiveLayersFloatUntilTheDropIsWithinTheBound()
    {
        // Four layers; each adds its own error and drop when int8. c matters most, then a; b and d barely.
        var cost = new Dictionary<string, (double Error, double Drop)> { ["a"] = (3, 0.8), ["b"] = (0.5, 0.1), ["c"] = (6, 1.5), ["d"] = (0.5, 0.1) };
        string[] layers = ["a", "b", "c", "d"];
        int quick = 0, full = 0;
        Int8Comparison Score(IReadOnlySet<string> floats)
        {
            var int8 = layers.Where(l => !floats.Contains(l)).ToList();
            double drop = int8.Sum(l => cost[l].Drop);
            return new Int8Comparison(100, 1 - drop / 100, 0.99, int8.Sum(l => cost[l].Error), Float32Accuracy: 0.8, Int8Accuracy: 0.8 - drop / 100);
        }
        var search = new FallbackSearch(layers, f => { quick++; return Score(f); }, f => { full++; return Score(f); });

        // All int8 loses 2.5 points. Bound 1.0: c goes float first (removes 6 of 10 error units), leaving 1.0 points.
        var outcome = search.Run(1.0, measure: true);
        CollectionAssert.AreEquivalent(new[] { "c" }, outcome.FloatLayers.ToList());
        Assert.AreEqual(2.5, outcome.AllLayers.Drop!.Value, 1e-9);
        Assert.AreEqual(1.0, outcome.Comparison.Drop!.Value, 1e-9);
        Assert.AreEqual(1, outcome.Steps.Count);
        Assert.AreEqual("c", outcome.Steps[0].Layer);
        Assert.AreEqual(0.6, outcome.Steps[0].Sensitivity, 1e-9);
        Assert.AreEqual(1 + layers.Length, quick, "the all-int8 baseline and one per layer");
        Assert.AreEqual(2, full, "all int8, then with c float");

        // Bound 0.15: c, then a (sensitivity 0.3) go float; b and d would be next, but at most half of the layers go
        // float, so the search says it cannot, with the best found (0.2 points).
        outcome = search.Run(0.15, measure: true);
        CollectionAssert.AreEquivalent(new[] { "c", "a" }, outcome.FloatLayers.ToList());
        Assert.AreEqual(0.2, outcome.Comparison.Drop!.Value, 1e-9);
        CollectionAssert.AreEqual(new[] { "c", "a" }, outcome.Steps.Select(s => s.Layer).ToArray());

        // Within the bound from the start, or nothing to measure on: every layer stays int8 and nothing is searched.
        Assert.AreEqual(0, search.Run(3.0, measure: true).FloatLayers.Count);
        Assert.AreEqual(0, search.Run(0.0, measure: false).FloatLayers.Count);
    }

    [TestMethod]
    public void ALayerIsTheExportersBlockOfANode()
    {
        static NodeProto Node(string output) => new() { OpType = "Conv", Name = "Conv_7", Output = { output } };
        Assert.AreEqual("features.2.0", QdqPlan.LayerOf(Node("features.2.0.block.1.0")));
        Assert.AreEqual("features.2.0", QdqPlan.LayerOf(Node("features.2.0.out")));
        Assert.AreEqual("features.0.0", QdqPlan.LayerOf(Node("features.0.0.silu")));
        Assert.AreEqual("features.8.0", QdqPlan.LayerOf(Node("features.8.0")));
        Assert.AreEqual("pooled", QdqPlan.LayerOf(Node("pooled")));

        // B0: the stem, 16 blocks and the head convolution.
        byte[] fp32 = EfficientNetOnnxExporter.Export(B0.Value, new OnnxExportOptions { Resolution = 32, Outputs = OnnxOutputs.Logits });
        var plan = QdqPlan.Create(ModelProto.Parser.ParseFrom(fp32).Graph, QuantizationOptions.Defaults.Layers);
        Assert.AreEqual(18, plan.Layers.Count, string.Join(", ", plan.Layers));
        var without = QdqPlan.Create(ModelProto.Parser.ParseFrom(fp32).Graph, QuantizationOptions.Defaults.Layers, new HashSet<string> { "features.2.0" });
        Assert.AreEqual(17, without.Layers.Count);
        Assert.IsTrue(without.Nodes.Count < plan.Nodes.Count);
    }

    [TestMethod]
    public void ActivationRangesKeepZeroExactAndEntropyClipsARareOutlier()
    {
        var (scale, zeroPoint) = QdqRewriter.ActivationParameters(-0.278f, 6.5f);
        Assert.AreEqual((6.5f + 0.278f) / 255f, scale, 1e-7f);
        Assert.AreEqual(10, zeroPoint, "round(0.278 / scale)");
        Assert.AreEqual((1f, (byte)0), QdqRewriter.ActivationParameters(0, 0), "an all-zero activation");

        // 2048 bins: a smooth bulk in the first 300 and one outlier at the far end. Keeping the outlier would spend all
        // but a few of the 128 levels on empty bins; the divergence search clips it.
        var histogram = new long[ActivationCalibrator.HistogramBins];
        for (int i = 0; i < 300; i++) histogram[i] = 10_000 - 30 * i;
        histogram[^1] = 1;
        int kept = ActivationCalibrator.EntropyThreshold(histogram);
        TestContext.WriteLine($"entropy keeps {kept} of {histogram.Length} bins");
        Assert.IsTrue(kept is >= 250 and <= 600, $"kept {kept}");
        // A flat histogram has nothing to clip.
        Assert.IsTrue(ActivationCalibrator.EntropyThreshold(Enumerable.Repeat(100L, 1024).ToArray()) >= 1000);
    }

    [TestMethod]
    public void FeaturizerQuantisesOnTheDataItIsFittedOnAndItsSavedModelScoresTheSame()
    {
        using var dir = new TemporaryDirectory();
        var ml = new MLContext(seed: 1);
        var rows = ImageData.GoodRows();
        var data = ImageData.Load(ml, rows);
        EfficientNetFeaturizerOptions Options(QuantizationOptions? quantization) => new()
        {
            WeightsPath = Fixtures.Generated("b0.torchvision.pth"), Resolution = 64, ImageFolder = ImageData.Folder, Quantization = quantization,
        };
        using var fp32 = ml.Transforms.EfficientNetFeaturizer("b0", "Features", "Path", Options(null)).Fit(data);
        var expectedFp32 = ImageData.Column(fp32.Transform(data), "Features");
        // Percentile ranges: entropy (the default, chosen on trained models) needs the tails of many values, and six images
        // of a random-init network give it too few (mean cosine 0.89 with entropy, 0.97 with percentile, measured).
        using var int8 = ml.Transforms.EfficientNetFeaturizer("b0", "Features", "Path", Options(new QuantizationOptions { CalibrationImages = 6, Method = CalibrationMethod.Percentile })).Fit(data);

        Assert.IsNotNull(int8.Quantization);
        Assert.AreEqual(6, int8.Quantization.Images, "the first six rows of the fitted data");
        Assert.IsNull(fp32.Quantization);
        var features = ImageData.Column(int8.Transform(data), "Features");
        double cosine = features.Select((f, i) => (double)System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(f, expectedFp32[i])).Average();
        TestContext.WriteLine($"int8 vs fp32 features, {rows.Length} images: mean cosine {cosine:F4}");
        Assert.IsTrue(cosine >= 0.9, $"mean cosine {cosine}");

        // The saved chain holds the int8 model; reloaded in process it scores what the batched path scores.
        string path = Path.Combine(dir.Path, "int8.zip");
        ml.Model.Save(int8, data.Schema, path);
        var loaded = ml.Model.Load(path, out _);
        var again = ImageData.Column(loaded.Transform(data), "Features");
        double max = features.Select((f, i) => Parity.MaxAbsDiff(f, again[i])).Max();
        TestContext.WriteLine($"batched vs reloaded saved chain: max |Δ| {max:E2}");
        Assert.IsTrue(max <= 1e-4, $"max |Δ| {max}");

        // Without this library (a separate process that references only ML.NET and ONNX Runtime).
        var reloaded = ModelLoadCheck.Run(path, ImageData.Folder, "Features", rows.Select(r => r.Path));
        CollectionAssert.DoesNotContain(reloaded.Assemblies.ToList(), "Microsoft.ML.EfficientNet");
        var values = reloaded.Vectors();
        for (int i = 0; i < rows.Length; i++) Assert.IsTrue(Parity.MaxAbsDiff(features[i], values[i]) <= 1e-4, rows[i].Path);
    }
}
