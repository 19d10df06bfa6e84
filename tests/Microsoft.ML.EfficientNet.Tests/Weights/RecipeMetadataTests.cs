using System.Buffers.Binary;
using System.Text;
using Microsoft.ML.Data;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Data;
using Microsoft.ML.EfficientNet.Onnx;
using Microsoft.ML.EfficientNet.Preprocessing;
using Microsoft.ML.EfficientNet.Scoring;
using Microsoft.ML.EfficientNet.Weights;

namespace Microsoft.ML.EfficientNet.Tests.Weights;

/// <summary>
/// The preprocessing recorded in a weights file's safetensors <c>__metadata__</c> (<see cref="RecipeMetadata"/>): read
/// back exactly, used by the ONNX writer and the featurizer, absent from published files (which keep their published
/// recipes), and refused with the file and the key named when damaged.
/// </summary>
[TestClass]
public sealed class RecipeMetadataTests
{
    public TestContext TestContext { get; set; } = null!;

    private static readonly string[] Labels = ["Trouser", "Sneaker", "Bag"];

    /// <summary>A 32 px Fashion-MNIST-style recipe: 36 px resize, grey statistics, bilinear; nothing like B0's published 256/224 ImageNet recipe.</summary>
    private static readonly PreprocessingRecipe SmallRecipe = new(36, 32, new RgbValues(0.286f, 0.286f, 0.286f), new RgbValues(0.353f, 0.353f, 0.353f), ResizeInterpolation.Bilinear);

    /// <summary>Seeded random B0 weights with a 3-class head, written as safetensors with <paramref name="metadata"/>.</summary>
    private static string WriteWeights(string folder, IReadOnlyDictionary<string, string>? metadata, string name = "model.safetensors")
    {
        string path = Path.Combine(folder, name);
        var random = RandomWeights.Create(EfficientNetSpec.Create(EfficientNetVariant.B0, numClasses: Labels.Length), seed: 4);
        SafeTensorsFile.Write(path, random.Weights.Entries, metadata);
        return path;
    }

    private static IReadOnlyDictionary<string, string> Recorded(WeightSource? source = null) =>
        new RecipeMetadata("b0", SmallRecipe) { Labels = Labels, Source = source }.ToMetadata();

    [TestMethod]
    public void TheRecipeRoundTripsThroughTheFileAndTheCheckpointUsesIt()
    {
        using var dir = new TemporaryDirectory();
        // Conventions other than the torchvision naming would suggest: what a run started from lukemelas weights records.
        var lukeMelas = new WeightSource(WeightFormat.LukeMelas, PaddingMode.TensorFlowSame, 1e-3, 0.01);
        string path = WriteWeights(dir.Path, Recorded(lukeMelas));

        var metadata = SafeTensorsFile.ReadMetadata(path);
        Assert.AreEqual("1", metadata[RecipeMetadata.FormatKey]);
        Assert.AreEqual("0.286,0.286,0.286", metadata[RecipeMetadata.MeanKey]);
        Assert.AreEqual("32", metadata[RecipeMetadata.CropSizeKey]);
        Assert.AreEqual("36", metadata[RecipeMetadata.ResizeSizeKey]);
        Assert.AreEqual("bilinear", metadata[RecipeMetadata.InterpolationKey]);
        Assert.AreEqual("[\"Trouser\",\"Sneaker\",\"Bag\"]", metadata[RecipeMetadata.LabelsKey]);
        Assert.AreEqual("tf-same", metadata[RecipeMetadata.PaddingKey]);

        var read = RecipeMetadata.Read(path)!;
        Assert.AreEqual(SmallRecipe, read.Preprocessing);
        Assert.AreEqual("b0", read.Variant);
        CollectionAssert.AreEqual(Labels, read.Labels!.ToArray());
        Assert.AreEqual(lukeMelas, read.Source);

        // The variant comes from the recipe when none is named.
        var checkpoint = EfficientNetCheckpoint.Load(path);
        Assert.AreEqual(EfficientNetVariant.B0, checkpoint.Spec.Variant);
        Assert.AreEqual(SmallRecipe, checkpoint.Preprocessing);
        CollectionAssert.AreEqual(Labels, checkpoint.Labels!.ToArray());
        // The recorded conventions win over the torchvision key names' rule (symmetric padding, eps 1e-5).
        Assert.AreEqual(lukeMelas, checkpoint.Source);
        Assert.AreEqual(WeightFormat.TorchVision, CheckpointKeyMap.DetectNaming(SafeTensorsFile.Read(path).Keys));

        // A featurizer drops the classifier, and with it the labels.
        var headless = EfficientNetCheckpoint.Load(path, EfficientNetVariant.B0, new CheckpointLoadOptions { NumClasses = 10, ReplaceHead = true });
        Assert.IsNull(headless.Labels);
        Assert.AreEqual(SmallRecipe, headless.Preprocessing);
    }

    [TestMethod]
    public void ExportingSuchAFileBuildsInItsRecipeAndLabelsAndAResolutionKeepsTheStatistics()
    {
        using var dir = new TemporaryDirectory();
        var checkpoint = EfficientNetCheckpoint.Load(WriteWeights(dir.Path, Recorded()));

        var metadata = OnnxModelMetadata.Read(EfficientNetOnnxExporter.Export(checkpoint));
        Assert.AreEqual(SmallRecipe, metadata.Preprocessing);
        CollectionAssert.AreEqual(Labels, metadata.Labels!.ToArray());

        var at128 = OnnxModelMetadata.Read(EfficientNetOnnxExporter.Export(checkpoint, new OnnxExportOptions { Resolution = 128 }));
        Assert.AreEqual(128, at128.Preprocessing.CropSize);
        Assert.AreEqual(144, at128.Preprocessing.ResizeSize, "the crop fraction 32/36 is kept");
        Assert.AreEqual(SmallRecipe.Mean, at128.Preprocessing.Mean);
        Assert.AreEqual(SmallRecipe.Std, at128.Preprocessing.Std);
        Assert.AreEqual(ResizeInterpolation.Bilinear, at128.Preprocessing.Interpolation);

        // Given options still win.
        var given = OnnxModelMetadata.Read(EfficientNetOnnxExporter.Export(checkpoint, new OnnxExportOptions { Preprocessing = PreprocessingRecipe.Centered(64), Labels = ["a", "b", "c"] }));
        Assert.AreEqual(PreprocessingRecipe.ImageNetMean, given.Preprocessing.Mean);
        CollectionAssert.AreEqual(new[] { "a", "b", "c" }, given.Labels!.ToArray());
    }

    [TestMethod]
    public void FeaturesFromAWeightsFileEqualThoseFromTheOnnxModelOfItsRecipe()
    {
        using var dir = new TemporaryDirectory();
        string weights = WriteWeights(dir.Path, Recorded());
        // What a run's model.onnx is: the same weights exported with the recipe given explicitly.
        string onnx = Path.Combine(dir.Path, "model.onnx");
        EfficientNetOnnxExporter.Export(EfficientNetCheckpoint.Load(weights, EfficientNetVariant.B0), onnx,
            new OnnxExportOptions { Outputs = OnnxOutputs.LogitsAndFeatures, Preprocessing = SmallRecipe, Labels = Labels });
        string images = Path.Combine(dir.Path, "images");
        FashionMnist.Load(train: false).WriteImageFolder(images, 2, [1, 7, 8]);
        var paths = Directory.GetFiles(images, "*.png", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToArray();

        var fromWeights = Featurize(paths, weights);
        var fromOnnx = Featurize(paths, onnx);
        Assert.AreEqual(6, fromWeights.Count);
        double max = fromWeights.Select((f, i) => Parity.MaxAbsDiff(fromOnnx[i], f)).Max();
        double scale = fromOnnx.Max(f => f.Max(Math.Abs));
        TestContext.WriteLine($"weights file vs its ONNX model: max |Δ| {max:E2} (features up to {scale:E2})");
        Assert.IsTrue(max <= 1e-6 * scale, $"max |Δ| {max} of {scale}");

        // The same weights without the recipe (the published 256/224 ImageNet recipe) give other features: the test can fail.
        string bare = WriteWeights(dir.Path, null, "published.safetensors");
        var published = Featurize(paths, bare);
        Assert.IsTrue(published.Select((f, i) => Parity.MaxAbsDiff(fromOnnx[i], f)).Max() > 100 * Math.Max(max, 1e-9 * scale));
    }

    private static List<float[]> Featurize(string[] paths, string weights)
    {
        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadFromEnumerable(paths.Select(p => new PathRow { Path = p }));
        var options = new EfficientNetFeaturizerOptions { WeightsPath = weights, CacheExports = false };
        using var featurizer = ml.Transforms.EfficientNetFeaturizer("b0", inputColumnName: nameof(PathRow.Path), options: options).Fit(data);
        return ImageData.Column(featurizer.Transform(data), "Features");
    }

    private sealed class PathRow
    {
        public string Path { get; set; } = "";
    }

    [TestMethod]
    public void FilesWithoutARecipeKeepTheirPublishedRecipes()
    {
        var torchvision = EfficientNetCheckpoint.Load(Fixtures.Generated("b0.torchvision.pth"), EfficientNetVariant.B0);
        Assert.IsNull(torchvision.Recipe);
        Assert.AreEqual(PretrainedWeights.Find(WeightFormat.TorchVision, EfficientNetVariant.B0)!.Preprocessing, torchvision.Preprocessing);
        Assert.AreEqual(new PreprocessingRecipe(256, 224, PreprocessingRecipe.ImageNetMean, PreprocessingRecipe.ImageNetStd, ResizeInterpolation.Bicubic), torchvision.Preprocessing);
        Assert.IsNull(RecipeMetadata.Read(Fixtures.Generated("b0.torchvision.pth")), "a .pth holds no metadata");
        var exported = OnnxModelMetadata.Read(EfficientNetOnnxExporter.Export(torchvision));
        Assert.AreEqual(224, exported.Resolution);
        Assert.AreEqual(PreprocessingRecipe.ImageNetMean, exported.Preprocessing.Mean);
        Assert.IsNull(exported.Labels);

        // A safetensors file from another tool, with metadata that is not a recipe.
        using var dir = new TemporaryDirectory();
        string other = WriteWeights(dir.Path, new Dictionary<string, string> { ["format"] = "pt", ["variant"] = "b0" });
        Assert.IsNull(RecipeMetadata.Read(other));
        var checkpoint = EfficientNetCheckpoint.Load(other, EfficientNetVariant.B0);
        Assert.IsNull(checkpoint.Recipe);
        Assert.AreEqual(torchvision.Preprocessing, checkpoint.Preprocessing);
        Assert.AreEqual(WeightSource.For(WeightFormat.TorchVision, EfficientNetVariant.B0), checkpoint.Source);
    }

    [TestMethod]
    public void DamagedMetadataIsAnErrorNamingTheFileAndTheKey()
    {
        using var dir = new TemporaryDirectory();
        var good = Recorded();
        var cases = new (string Name, Action<Dictionary<string, string>> Damage, string Key, string Says)[]
        {
            ("mean-abc", m => m[RecipeMetadata.MeanKey] = "abc", "'mean'", "\"abc\""),
            ("std-zero", m => m[RecipeMetadata.StdKey] = "0.3,0,0.3", "'std'", "finite numbers > 0"),
            ("labels-not-json", m => m[RecipeMetadata.LabelsKey] = "[Trouser, Bag", "'labels'", "a JSON array of strings"),
            ("no-crop", m => m.Remove(RecipeMetadata.CropSizeKey), "'crop_size'", "no 'crop_size'"),
            ("crop-text", m => m[RecipeMetadata.CropSizeKey] = "large", "'crop_size'", "\"large\""),
            ("resize-below-crop", m => m[RecipeMetadata.ResizeSizeKey] = "16", "'resize_size'", "at least crop_size (32)"),
            ("interpolation", m => m[RecipeMetadata.InterpolationKey] = "lanczos", "'interpolation'", "bilinear or bicubic"),
            ("version", m => m[RecipeMetadata.FormatKey] = "7", "'efficientnetml_recipe'", "version 1"),
            ("labels-count", m => m[RecipeMetadata.LabelsKey] = "[\"a\",\"b\"]", "'labels'", "2 labels but the classifier has 3 classes"),
        };
        foreach (var (name, damage, key, says) in cases)
        {
            var metadata = new Dictionary<string, string>(good);
            damage(metadata);
            string path = WriteWeights(dir.Path, metadata, name + ".safetensors");
            var e = Assert.ThrowsExactly<InvalidDataException>(() => EfficientNetCheckpoint.Load(path, EfficientNetVariant.B0), name);
            TestContext.WriteLine(e.Message);
            StringAssert.Contains(e.Message, path, name);
            StringAssert.Contains(e.Message, key, name);
            StringAssert.Contains(e.Message, says, name);
        }

        // A header that is not JSON, and metadata values that are not strings.
        string broken = Path.Combine(dir.Path, "broken.safetensors");
        WriteRawHeader(broken, "{\"__metadata__\": {\"mean\": \"0.5\",");
        var notJson = Assert.ThrowsExactly<InvalidDataException>(() => EfficientNetCheckpoint.Load(broken, EfficientNetVariant.B0));
        StringAssert.Contains(notJson.Message, broken);
        StringAssert.Contains(notJson.Message, "not valid JSON");
        Assert.ThrowsExactly<InvalidDataException>(() => RecipeMetadata.Read(broken));
        string number = Path.Combine(dir.Path, "number.safetensors");
        WriteRawHeader(number, "{\"__metadata__\": {\"efficientnetml_recipe\": \"1\", \"crop_size\": 32}}");
        var notString = Assert.ThrowsExactly<InvalidDataException>(() => RecipeMetadata.Read(number));
        StringAssert.Contains(notString.Message, number);
        StringAssert.Contains(notString.Message, "'crop_size'");
        StringAssert.Contains(notString.Message, "not a string");
    }

    private static void WriteRawHeader(string path, string header)
    {
        byte[] json = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + json.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)json.Length);
        json.CopyTo(bytes, 8);
        File.WriteAllBytes(path, bytes);
    }

    [TestMethod]
    public void AnOverrideSaysWhatItChangesAndWhatItKeeps()
    {
        string? note = RecipeMetadata.DescribeOverride("--resolution 128", "run/model.safetensors", SmallRecipe, SmallRecipe.WithCropSize(128));
        Assert.AreEqual("--resolution 128 overrides the preprocessing recorded in 'run/model.safetensors': image size 32 → 128, resize size 36 → 144; mean, std, interpolation kept.", note);
        Assert.IsNull(RecipeMetadata.DescribeOverride("--resolution 32", "f", SmallRecipe, SmallRecipe.WithCropSize(32)), "nothing changes, nothing said");
        var changes = RecipeMetadata.Changes(SmallRecipe, SmallRecipe with { Mean = new RgbValues(0.5f, 0.5f, 0.5f) });
        CollectionAssert.AreEqual(new[] { "mean 0.286,0.286,0.286 → 0.5,0.5,0.5" }, changes.ToArray());
    }
}
