using Microsoft.Extensions.Logging;
using Microsoft.ML.Data;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Onnx;
using Microsoft.ML.EfficientNet.Preprocessing;
using Microsoft.ML.EfficientNet.Scoring;
using Microsoft.ML.EfficientNet.Weights;
using Microsoft.ML.EfficientNet.Runtime;

namespace Microsoft.ML.EfficientNet.Tests.Scoring;

[TestClass]
public sealed class FeaturizerTests
{
    public TestContext TestContext { get; set; } = null!;

    private static EfficientNetFeaturizerOptions FixtureWeights(string file = "b0.torchvision.pth") => new() { WeightsPath = Fixtures.Generated(file) };

    private static (MLContext Ml, IDataView Images) LoadedImages(IEnumerable<ImageData.Row>? rows = null)
    {
        var ml = new MLContext(seed: 1);
        var data = ImageData.Load(ml, rows ?? ImageData.GoodRows());
        return (ml, ml.Transforms.LoadImages("Image", ImageData.Folder, "Path").Fit(data).Transform(data));
    }

    [TestMethod]
    public void BatchedFeaturesEqualTheRowAtATimeChain()
    {
        var (ml, images) = LoadedImages();
        var options = FixtureWeights();
        options.BatchSize = 5; // 12 images: two full batches and a partial one
        using var featurizer = ml.Transforms.EfficientNetFeaturizer("b0", options: options).Fit(images);
        var output = featurizer.Transform(images);
        Assert.AreEqual(new VectorDataViewType(NumberDataViewType.Single, 1280), output.Schema["Features"].Type);
        var batched = ImageData.Column(output, "Features");
        var rowAtATime = ImageData.Column(featurizer.StandardChain.Transform(images), "Features");
        Assert.AreEqual(ImageData.GoodRows().Length, batched.Count);
        double max = batched.Select((f, i) => Parity.MaxAbsDiff(rowAtATime[i], f)).Max();
        TestContext.WriteLine($"batched vs row-at-a-time: max |Δ| {max:E2}");
        Assert.IsTrue(max <= 1e-5, $"max |Δ| {max}");
        Assert.IsTrue(batched.All(f => f.Length == 1280 && f.Any(v => v != 0)));
        // Different images give different features.
        Assert.IsTrue(Parity.MaxAbsDiff(batched[0], batched[1]) > 1e-2);
        // Pass-through columns are kept and aligned with the features.
        CollectionAssert.AreEqual(ImageData.GoodRows().Select(r => r.Path).ToArray(),
            output.GetColumn<string>("Path").ToArray());
    }

    [TestMethod]
    public void V2FeaturizerUsesTorchvisionsV2Recipe()
    {
        var (ml, images) = LoadedImages(ImageData.GoodRows().Take(2));
        var options = FixtureWeights("v2-s.torchvision.pth");
        options.Resolution = 96;
        using var featurizer = ml.Transforms.EfficientNetFeaturizer("v2-s", options: options).Fit(images);
        var features = ImageData.Column(featurizer.Transform(images), "Features");
        Assert.AreEqual("v2-s", featurizer.Metadata.Variant);
        Assert.AreEqual(1280, featurizer.Metadata.FeatureWidth);
        // torchvision's V2-S recipe (resize 384 = crop 384, bilinear) kept at the reduced size: resize = crop = 96.
        Assert.AreEqual(96, featurizer.Metadata.Preprocessing.CropSize);
        Assert.AreEqual(96, featurizer.Metadata.Preprocessing.ResizeSize);
        Assert.AreEqual(ResizeInterpolation.Bilinear, featurizer.Metadata.Preprocessing.Interpolation);
        Assert.IsTrue(features.All(f => f.Length == 1280 && f.Any(v => v != 0)));
        Assert.IsTrue(Parity.MaxAbsDiff(features[0], features[1]) > 1e-2);
    }

    [TestMethod]
    public void FeaturesAreTheOnnxModelOnMlNetPixels()
    {
        // Independent check of the whole chain: ML.NET's resize + pixel extraction, then the exported ONNX model run
        // directly by ONNX Runtime, must give the featurizer's output.
        var (ml, images) = LoadedImages(ImageData.GoodRows().Take(3));
        using var featurizer = ml.Transforms.EfficientNetFeaturizer("b0", options: FixtureWeights()).Fit(images);
        var features = ImageData.Column(featurizer.Transform(images), "Features");
        var recipe = featurizer.Metadata.Preprocessing;
        var pixels = ml.Transforms.ResizeImages("R", recipe.ResizeSize, recipe.ResizeSize, "Image")
            .Append(ml.Transforms.ExtractPixels("P", "R")).Fit(images).Transform(images);
        var checkpoint = EfficientNetCheckpoint.Load(Fixtures.Generated("b0.torchvision.pth"), EfficientNetVariant.B0);
        byte[] onnx = EfficientNetOnnxExporter.Export(checkpoint, new OnnxExportOptions { Outputs = OnnxOutputs.Features });
        var rows = ImageData.Column(pixels, "P");
        for (int i = 0; i < rows.Count; i++)
        {
            var direct = OnnxRunner.Run(onnx, OnnxExportOptions.ImageInputName, rows[i], [1, 3, recipe.ResizeSize, recipe.ResizeSize]);
            Assert.IsTrue(Parity.MaxAbsDiff(direct[OnnxExportOptions.FeaturesOutputName], features[i]) <= 1e-5);
        }
    }

    [TestMethod]
    public void MlNetResizeFollowsTorchvisionClosely()
    {
        // torchvision: Resize(256, bicubic) + CenterCrop(224). ML.NET: ResizeImages(256, IsoCrop) + the in-graph 224 crop.
        var reference = SafeTensorsFile.Read(Fixtures.Generated("images.io.safetensors"));
        var (ml, images) = LoadedImages();
        var pixels = ImageData.Column(ml.Transforms.ResizeImages("R", 256, 256, "Image").Append(ml.Transforms.ExtractPixels("P", "R"))
            .Fit(images).Transform(images), "P");
        var rows = ImageData.GoodRows();
        double total = 0;
        long count = 0;
        for (int i = 0; i < rows.Length; i++)
        {
            var expected = reference[rows[i].Path.Replace('\\', '/')].Values;
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < 224; y++)
                    for (int x = 0; x < 224; x++)
                    {
                        total += Math.Abs(pixels[i][(c * 256 + y + 16) * 256 + x + 16] - expected[(c * 224 + y) * 224 + x]);
                        count++;
                    }
        }
        double mean = total / count;
        TestContext.WriteLine($"mean |Δ| ML.NET vs torchvision preprocessing: {mean:F2} of 255");
        Assert.IsTrue(mean < 2.0, $"mean |Δ| {mean:F2}: the field of view or channel order differs from torchvision's");
    }

    [TestMethod]
    public void SavedModelLoadsAndScoresWithoutThisLibrary()
    {
        using var dir = new TemporaryDirectory();
        var ml = new MLContext(seed: 1);
        var rows = ImageData.GoodRows();
        var data = ImageData.Load(ml, rows);
        var pipeline = ml.Transforms.LoadImages("Image", ImageData.Folder, "Path")
            .Append(ml.Transforms.EfficientNetFeaturizer("b0", options: FixtureWeights()));
        var model = pipeline.Fit(data);
        var expected = ImageData.Column(model.Transform(data), "Features");
        string path = Path.Combine(dir.Path, "featurizer.zip");
        // The input schema holds only strings here; a schema with only an image column must be saved with null (platform.md).
        ml.Model.Save(model, data.Schema, path);
        ((IDisposable)model.LastTransformer).Dispose();

        var reloaded = ModelLoadCheck.Run(path, ImageData.Folder, "Features", rows.Select(r => r.Path));
        var assemblies = reloaded.Assemblies.ToList();
        CollectionAssert.DoesNotContain(assemblies, "Microsoft.ML.EfficientNet");
        CollectionAssert.Contains(assemblies, "Microsoft.ML.OnnxTransformer");
        var values = reloaded.Vectors();
        Assert.AreEqual(rows.Length, values.Count);
        for (int i = 0; i < rows.Length; i++) Assert.IsTrue(Parity.MaxAbsDiff(expected[i], values[i]) <= 1e-5, rows[i].Path);

        // In process, mlContext.Model.Load gives the same features too.
        var loaded = ml.Model.Load(path, out _);
        var again = ImageData.Column(loaded.Transform(data), "Features");
        for (int i = 0; i < rows.Length; i++) Assert.IsTrue(Parity.MaxAbsDiff(expected[i], again[i]) <= 1e-5);
    }

    [TestMethod]
    public void UnreadableImagesGiveNaNRowsAndTheBatchGoesOn()
    {
        var good = ImageData.GoodRows();
        var bad = ImageData.BadRows();
        var rows = good.Take(3).Concat(bad).Concat(good.Skip(3).Take(3)).ToArray();
        var (ml, images) = LoadedImages(rows);
        var logger = new ListLogger();
        var options = FixtureWeights();
        options.Logger = logger;
        options.BatchSize = 4;
        using var featurizer = ml.Transforms.EfficientNetFeaturizer("b0", options: options).Fit(images);
        var features = ImageData.Column(featurizer.Transform(images), "Features");
        Assert.AreEqual(rows.Length, features.Count, "every row is scored");
        var reference = ImageData.Column(featurizer.Transform(LoadedImages(good.Take(6)).Images), "Features");
        for (int i = 0; i < rows.Length; i++)
        {
            bool isBad = rows[i].Label == "bad" && !rows[i].Path.Contains("truncated", StringComparison.Ordinal);
            if (isBad) Assert.IsTrue(features[i].All(float.IsNaN), $"{rows[i].Path} should give NaN features");
            else Assert.IsFalse(features[i].Any(float.IsNaN), rows[i].Path);
        }
        // The good rows after the bad ones are unaffected.
        for (int i = 0; i < 3; i++) Assert.IsTrue(Parity.MaxAbsDiff(reference[3 + i], features[3 + bad.Length + i]) <= 1e-5);
        var warnings = logger.Entries.Where(e => e.Level == LogLevel.Warning).Select(e => e.Message).ToList();
        Assert.AreEqual(3, warnings.Count, string.Join("\n", warnings));
        Assert.IsTrue(warnings.All(w => w.Contains("column 'Image'", StringComparison.Ordinal) && w.Contains("features are NaN", StringComparison.Ordinal)));

        options.UnreadableImages = UnreadableImageHandling.Throw;
        using var strict = ml.Transforms.EfficientNetFeaturizer("b0", options: options).Fit(images);
        var error = Assert.ThrowsExactly<InvalidDataException>(() => ImageData.Column(strict.Transform(images), "Features"));
        StringAssert.Contains(error.Message, "Row 3: the image in column 'Image' could not be read");
    }

    [TestMethod]
    public void AMissingImageAfterAGoodOneIsReportedAsMissing()
    {
        // LoadImages gives no image for an empty path; ML.NET's resize getter then leaves the caller's previous
        // (already disposed) image in place, which must not pass for this row's.
        var good = ImageData.GoodRows();
        var rows = new[] { good[0], new ImageData.Row { Path = "", Label = "missing" }, good[1] };
        var (ml, images) = LoadedImages(rows);
        var logger = new ListLogger();
        var options = FixtureWeights();
        options.Logger = logger;
        using var featurizer = ml.Transforms.EfficientNetFeaturizer("b0", options: options).Fit(images);
        var features = ImageData.Column(featurizer.Transform(images), "Features");
        Assert.IsTrue(features[1].All(float.IsNaN), "the missing row gives NaN features");
        Assert.IsFalse(features[0].Any(float.IsNaN) || features[2].Any(float.IsNaN), "the good rows are scored");
        var warning = logger.Entries.Single(e => e.Level == LogLevel.Warning).Message;
        StringAssert.Contains(warning, "Row 1: the image in column 'Image' could not be read (the image is missing)");
    }

    [TestMethod]
    public void UnknownVariantListsTheValidOnes()
    {
        var error = Assert.ThrowsExactly<ArgumentException>(() => new MLContext().Transforms.EfficientNetFeaturizer("b8"));
        StringAssert.Contains(error.Message, "Unknown EfficientNet variant 'b8'. Valid variants: b0, b1, b2, b3, b4, b5, b6, b7, v2-s, v2-m, v2-l, lite0, lite1, lite2, lite3, lite4.");
    }

    [TestMethod]
    public void WrongInputColumnIsASchemaMismatch()
    {
        var ml = new MLContext();
        var rows = ImageData.Load(ml, ImageData.GoodRows());
        var data = ml.Transforms.Conversion.MapValueToKey("Class", "Label").Fit(rows).Transform(rows);
        var estimator = ml.Transforms.EfficientNetFeaturizer("b0", inputColumnName: "Class", options: FixtureWeights());
        const string expected = "Schema mismatch for input column 'Class': expected Image or String (an image path), got Key<UInt32, 0-1>";
        var error = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => estimator.Fit(data));
        StringAssert.Contains(error.Message, expected);
        var shapeError = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => estimator.GetOutputSchema(Shapes.Of(data.Schema)));
        StringAssert.Contains(shapeError.Message, "Schema mismatch for input column 'Class': expected Image or String (an image path), got Key<UInt32>");
        var missing = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Transforms.EfficientNetFeaturizer("b0", inputColumnName: "Photo", options: FixtureWeights()).Fit(data));
        StringAssert.Contains(missing.Message, "Could not find input column 'Photo'");
    }

    [TestMethod]
    public void EstimatorSchemaHasTheFlatFeaturesVector()
    {
        var (ml, images) = LoadedImages();
        var shape = ml.Transforms.EfficientNetFeaturizer("b0", options: FixtureWeights()).GetOutputSchema(Shapes.Of(images.Schema));
        var features = shape.Single(c => c.Name == "Features");
        Assert.AreEqual(SchemaShape.Column.VectorKind.Vector, features.Kind);
        Assert.AreEqual(NumberDataViewType.Single, features.ItemType);
    }

    [TestMethod]
    public void EstimatorSchemaIsTheFittedChainsSchema()
    {
        // The type-only schema must be what the chain around the real ONNX model gives (ApplyOnnxModel's own typing) and
        // what the fitted featurizer gives, for both input kinds.
        var (ml, images) = LoadedImages(ImageData.GoodRows().Take(2));
        var paths = ImageData.Load(ml, ImageData.GoodRows().Take(2));
        var options = FixtureWeights();
        options.ImageFolder = ImageData.Folder;
        var model = FeaturizerModel.Create(EfficientNetVariant.B0, options, ScoringChain.PixelsColumnOf("Features"), "Features");
        foreach (var (data, column, isPath) in new[] { (images, "Image", false), (paths, "Path", true) })
        {
            var input = Shapes.Of(data.Schema);
            var estimator = ml.Transforms.EfficientNetFeaturizer("b0", inputColumnName: column, options: options);
            var shape = Shapes.Describe(estimator.GetOutputSchema(input));
            TestContext.WriteLine(string.Join("\n", shape));

            var chain = new ScoringChain(column, isPath, "Features", options.ImageFolder)
                .Create(ml.Transforms, model.Metadata.Preprocessing, model.RowOnnx, ["Features"], gpuDeviceId: null, fallbackToCpu: false);
            CollectionAssert.AreEqual(Shapes.Describe(chain.GetOutputSchema(input)), shape, column);
            foreach (var step in chain.Fit(data)) (step as IDisposable)?.Dispose();

            using var featurizer = estimator.Fit(data);
            var fitted = featurizer.GetOutputSchema(data.Schema);
            CollectionAssert.AreEqual(Shapes.Describe(Shapes.Of(fitted)), shape, column);
            CollectionAssert.AreEqual(Shapes.Describe(Shapes.Of(featurizer.Transform(data).Schema)), shape, column);
            Assert.AreEqual(new VectorDataViewType(NumberDataViewType.Single, estimator.FeatureWidth), fitted["Features"].Type);
        }
    }

    [TestMethod]
    public void SessionOwnerChecksTheModelItIsGiven()
    {
        var error = Assert.ThrowsExactly<Microsoft.ML.OnnxRuntime.OnnxRuntimeException>(() => new EfficientNetOnnxSession([1, 2, 3], "Features"));
        TestContext.WriteLine(error.Message);
        var checkpoint = EfficientNetCheckpoint.Load(Fixtures.Generated("b0.torchvision.pth"), EfficientNetVariant.B0);
        byte[] onnx = EfficientNetOnnxExporter.Export(checkpoint, new OnnxExportOptions { Outputs = OnnxOutputs.Features });
        var missing = Assert.ThrowsExactly<ArgumentException>(() => new EfficientNetOnnxSession(onnx, "logits"));
        StringAssert.Contains(missing.Message, "The model has no output 'logits'; its outputs are [features].");

        using var session = new EfficientNetOnnxSession(onnx, OnnxExportOptions.FeaturesOutputName, parallelism: 2);
        Assert.AreEqual((OnnxExportOptions.ImageInputName, 256, 1280, 2, "CPU"), (session.InputName, session.InputSize, session.OutputWidth, session.Parallelism, session.ExecutionProvider));
        var pixels = new float[3 * session.InputLength];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = i % 251;
        var all = new float[3 * session.OutputWidth];
        session.ScoreAll(pixels, 3, all, batchSize: 2);
        var one = new float[session.OutputWidth];
        session.Score(pixels.AsMemory(2 * session.InputLength), 1, one);
        Assert.IsTrue(Parity.MaxAbsDiff(one, all[(2 * session.OutputWidth)..]) <= 1e-5, "the partial batch is the same image scored alone");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => session.Score(pixels, 4, all)).Message, "4 images need");
        session.Dispose();
        Assert.ThrowsExactly<ObjectDisposedException>(() => session.Score(pixels, 1, one));
    }

    [TestMethod]
    public void OutputSchemaTouchesNoWeightsAndFitNamesAMissingFile()
    {
        // The schema comes from types alone, as ML.NET's own estimators give theirs: a missing file, an empty cache with
        // downloads off, or random weights all give b7's schema, and only Fit reads (and fails on) the weights.
        using var dir = new TemporaryDirectory();
        string missing = Path.Combine(dir.Path, "missing-b7.pth");
        var (ml, images) = LoadedImages(ImageData.GoodRows().Take(1));
        var input = Shapes.Of(images.Schema);
        var cases = new (string Name, EfficientNetFeaturizerOptions Options)[]
        {
            ("missing WeightsPath", new() { WeightsPath = missing }),
            ("empty cache, no download", new() { CacheDirectory = dir.Path, AllowDownload = false }),
            ("random weights", new() { UseRandomWeights = true }),
        };
        foreach (var (name, options) in cases)
        {
            var estimator = ml.Transforms.EfficientNetFeaturizer("b7", options: options);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            estimator.GetOutputSchema(input);
            double first = clock.Elapsed.TotalMilliseconds;
            clock.Restart();
            var shape = estimator.GetOutputSchema(input);
            TestContext.WriteLine($"b7 GetOutputSchema, {name}: first call {first:F1} ms, after warm-up {clock.Elapsed.TotalMilliseconds:F2} ms");
            var features = shape.Single(c => c.Name == "Features");
            Assert.AreEqual(SchemaShape.Column.VectorKind.Vector, features.Kind, name);
            Assert.AreEqual(NumberDataViewType.Single, features.ItemType, name);
            Assert.AreEqual(2560, estimator.FeatureWidth);
        }
        Assert.IsFalse(File.Exists(missing));
        Assert.AreEqual(0, Directory.GetFiles(dir.Path).Length, "nothing was downloaded or cached");

        var error = Assert.ThrowsExactly<FileNotFoundException>(() => ml.Transforms.EfficientNetFeaturizer("b7", options: cases[0].Options).Fit(images));
        Assert.AreEqual($"WeightsPath '{missing}' does not exist.", error.Message);
        Assert.AreEqual(missing, error.FileName);
    }

    [TestMethod]
    public void WeightsOfAnotherVariantNameTheFirstMismatchedTensor()
    {
        var (ml, images) = LoadedImages(ImageData.GoodRows().Take(1));
        var error = Assert.ThrowsExactly<CheckpointMismatchException>(
            () => ml.Transforms.EfficientNetFeaturizer("b0", options: FixtureWeights("b3.torchvision.pth")).Fit(images));
        StringAssert.Contains(error.Message, "'features.0.0.weight' expected [32, 3, 3, 3], checkpoint has [40, 3, 3, 3]");
        StringAssert.Contains(error.Message, "it holds EfficientNet-b3 weights");
    }

    [TestMethod]
    public void ExportedOnnxFilesAreAcceptedAndChecked()
    {
        using var dir = new TemporaryDirectory();
        var checkpoint = EfficientNetCheckpoint.Load(Fixtures.Generated("b0.torchvision.pth"), EfficientNetVariant.B0);
        string features = Path.Combine(dir.Path, "b0-features.onnx"), bare = Path.Combine(dir.Path, "b0-bare.onnx"), logits = Path.Combine(dir.Path, "b0-logits.onnx");
        EfficientNetOnnxExporter.Export(checkpoint, features, new OnnxExportOptions { Outputs = OnnxOutputs.Features });
        EfficientNetOnnxExporter.Export(checkpoint, bare, new OnnxExportOptions { Bare = true });
        EfficientNetOnnxExporter.Export(checkpoint, logits);
        var (ml, images) = LoadedImages(ImageData.GoodRows().Take(2));

        using var fromOnnx = ml.Transforms.EfficientNetFeaturizer("b0", options: new EfficientNetFeaturizerOptions { WeightsPath = features }).Fit(images);
        using var fromPth = ml.Transforms.EfficientNetFeaturizer("b0", options: FixtureWeights()).Fit(images);
        var a = ImageData.Column(fromOnnx.Transform(images), "Features");
        var b = ImageData.Column(fromPth.Transform(images), "Features");
        for (int i = 0; i < a.Count; i++) Assert.IsTrue(Parity.MaxAbsDiff(a[i], b[i]) <= 1e-6);

        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.EfficientNetFeaturizer("b0", options: new() { WeightsPath = bare }).Fit(images)).Message, "bare model");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.EfficientNetFeaturizer("b0", options: new() { WeightsPath = logits }).Fit(images)).Message, "no 'features' output");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.EfficientNetFeaturizer("b1", options: new() { WeightsPath = features }).Fit(images)).Message, "EfficientNet-b0 model");
    }

    [TestMethod]
    public void ReducedResolutionKeepsTheFeatureWidth()
    {
        var (ml, images) = LoadedImages(ImageData.GoodRows().Take(2));
        var options = FixtureWeights("b4.torchvision.pth");
        options.Resolution = 96;
        using var featurizer = ml.Transforms.EfficientNetFeaturizer("b4", options: options).Fit(images);
        Assert.AreEqual(96, featurizer.Metadata.Resolution);
        Assert.AreEqual(97, featurizer.Metadata.Preprocessing.ResizeSize); // 384/380 kept: round(96·384/380)
        Assert.IsTrue(ImageData.Column(featurizer.Transform(images), "Features").All(f => f.Length == 1792));
    }

    [TestMethod]
    public void MissingWeightsAreAnErrorNotARandomFallback()
    {
        using var cache = new TemporaryDirectory();
        var (ml, images) = LoadedImages(ImageData.GoodRows().Take(1));
        var options = new EfficientNetFeaturizerOptions { CacheDirectory = cache.Path, AllowDownload = false };
        var error = Assert.ThrowsExactly<FileNotFoundException>(() => ml.Transforms.EfficientNetFeaturizer("b0", options: options).Fit(images));
        StringAssert.Contains(error.Message, "https://download.pytorch.org/models/efficientnet_b0_rwightman-7f5810bc.pth");
        StringAssert.Contains(error.Message, Path.Combine(cache.Path, "efficientnet_b0_rwightman-7f5810bc.pth"));

        using var random = ml.Transforms.EfficientNetFeaturizer("b0", options: new() { UseRandomWeights = true, RandomSeed = 3 }).Fit(images);
        Assert.AreEqual("random weights (seed 3)", random.Metadata.WeightFile);
        Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.EfficientNetFeaturizer("b0", options: new() { UseRandomWeights = true, WeightsPath = "x.pth" }).Fit(images));
    }

    [TestMethod]
    public void ASecondFitOfTheSameWeightsReusesTheExport()
    {
        OnnxExportCache.Clear();
        var (ml, images) = LoadedImages();
        EfficientNetFeaturizerOptions Options(int seed, int resolution) => new() { UseRandomWeights = true, RandomSeed = seed, Resolution = resolution };
        using var first = ml.Transforms.EfficientNetFeaturizer("b0", options: Options(5, 64)).Fit(images);
        Assert.AreEqual(1, OnnxExportCache.Count);
        // A new estimator with the same weights: no second export, the same model.
        using var second = ml.Transforms.EfficientNetFeaturizer("b0", options: Options(5, 64)).Fit(images);
        Assert.AreEqual(1, OnnxExportCache.Count);
        CollectionAssert.AreEqual(first.OnnxModel.ToArray(), second.OnnxModel.ToArray());
        // Other weights, or another resolution, are exported anew.
        using var otherWeights = ml.Transforms.EfficientNetFeaturizer("b0", options: Options(6, 64)).Fit(images);
        using var otherResolution = ml.Transforms.EfficientNetFeaturizer("b0", options: Options(5, 96)).Fit(images);
        Assert.AreEqual(3, OnnxExportCache.Count);
        CollectionAssert.AreNotEqual(first.OnnxModel.ToArray(), otherWeights.OnnxModel.ToArray());
        Assert.AreEqual(96, otherResolution.Metadata.Resolution);
        OnnxExportCache.Clear();
    }
}
