using System.Globalization;
using System.Text.Json;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Data;
using Microsoft.ML.EfficientNet.Onnx;
using Microsoft.ML.EfficientNet.Preprocessing;
using Microsoft.ML.EfficientNet.Weights;

namespace EfficientNet.Cli.Tests;

/// <summary>
/// The preprocessing a run's weights file records, as the commands use it: <c>featurize</c>, <c>export</c>,
/// <c>predict</c> and <c>quantize</c> of a run's <c>model.safetensors</c> behave as its <c>model.onnx</c>; flags that
/// override part of the recipe say so; files without a recipe keep the published one; damaged metadata is one line
/// naming the file and the key. Also the warning of <c>predict --explain</c> on a model too small for useful maps.
/// </summary>
[TestClass]
public sealed class RecipeCommandTests
{
    public TestContext TestContext { get; set; } = null!;

    private static readonly RgbValues Mean = new(0.286f, 0.286f, 0.286f), Std = new(0.353f, 0.353f, 0.353f);

    /// <summary>Test images of the run's two classes (Trouser, Bag).</summary>
    private static string Images(string root)
    {
        string images = Path.Combine(root, "images");
        FashionMnist.Load(train: false).WriteImageFolder(images, 3, [1, 8]);
        return images;
    }

    private static List<float[]> CsvFeatures(string csv) =>
        File.ReadAllLines(csv).Skip(1).Select(l => l.Split(',').Skip(2).Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray()).ToList();

    [TestMethod]
    public void ARunsModelSafetensorsFeaturizesExportsPredictsAndQuantizesAsItsModelOnnx()
    {
        using var dir = new TemporaryDirectory();
        // A run of its own, one short epoch: the user's case (train at 32 px with grey statistics, then use the files).
        // Starting weights named explicitly (the fixture has no recipe, and the flags give the run's), whatever the default.
        string run = Path.Combine(dir.Path, "run");
        var trained = CliRunner.Run("train", "--data", TrainCommandTests.Folders.Value.Train, "--per-class", "64", "--validation-fraction", "0",
            "--weights", Fixtures.Generated("b0.torchvision.pth"),
            "--epochs", "1", "--batch-size", "16", "--image-size", "32", "--augment", "shift", "--mean", "0.286", "--std", "0.353", "--crop-fraction", "1",
            "--lr", "3e-3", "--seed", "3", "--output", run);
        Assert.AreEqual(0, trained.ExitCode, trained.Output + trained.Error);
        string weights = Path.Combine(run, "model.safetensors"), onnx = Path.Combine(run, "model.onnx");
        string images = Images(dir.Path);

        // featurize: the same features both ways, at the run's 32 px (not B0's published 224 px).
        string fromWeights = Path.Combine(dir.Path, "weights.csv"), fromOnnx = Path.Combine(dir.Path, "onnx.csv");
        var first = CliRunner.Run("featurize", "--images", images, "--weights", weights, "--output", fromWeights);
        Assert.AreEqual(0, first.ExitCode, first.Output + first.Error);
        StringAssert.Contains(first.Output, "EfficientNet-b0 (1280 features, 32 px");
        var second = CliRunner.Run("featurize", "--images", images, "--weights", onnx, "--output", fromOnnx);
        Assert.AreEqual(0, second.ExitCode, second.Output + second.Error);
        var a = CsvFeatures(fromWeights);
        var b = CsvFeatures(fromOnnx);
        Assert.AreEqual(6, a.Count);
        double max = a.Select((f, i) => Parity.MaxAbsDiff(b[i], f)).Max(), scale = b.Max(f => f.Max(Math.Abs));
        TestContext.WriteLine($"featurize model.safetensors vs model.onnx: max |Δ| {max:E2}, features up to {scale:E2}");
        Assert.IsTrue(max <= 1e-5 * scale, $"max |Δ| {max} of {scale}");

        // export: the recipe and labels recorded, visible in the ONNX metadata; nothing overridden, nothing said.
        string exported = Path.Combine(dir.Path, "exported.onnx");
        var export = CliRunner.Run("export", "--weights", weights, "--output", exported);
        Assert.AreEqual(0, export.ExitCode, export.Output + export.Error);
        Assert.IsFalse(export.Error.Contains("note:", StringComparison.Ordinal), export.Error);
        var metadata = OnnxModelMetadata.Read(exported);
        Assert.AreEqual((32, 32), (metadata.Preprocessing.CropSize, metadata.Preprocessing.ResizeSize));
        Assert.AreEqual((Mean, Std), (metadata.Preprocessing.Mean, metadata.Preprocessing.Std));
        CollectionAssert.AreEqual(File.ReadAllLines(Path.Combine(run, "labels.txt")), metadata.Labels!.ToArray());
        CollectionAssert.AreEquivalent(new[] { "Trouser", "Bag" }, metadata.Labels!.ToArray());

        // export --resolution keeps the recipe's normalisation and crop fraction, and says what it changes.
        string at128 = Path.Combine(dir.Path, "at128.onnx");
        var larger = CliRunner.Run("export", "--weights", weights, "--resolution", "128", "--output", at128);
        Assert.AreEqual(0, larger.ExitCode, larger.Output + larger.Error);
        metadata = OnnxModelMetadata.Read(at128);
        Assert.AreEqual((128, 128), (metadata.Preprocessing.CropSize, metadata.Preprocessing.ResizeSize));
        Assert.AreEqual((Mean, Std), (metadata.Preprocessing.Mean, metadata.Preprocessing.Std));
        StringAssert.Contains(larger.Error, $"note: --resolution 128 overrides the preprocessing recorded in '{weights}': image size 32 → 128, resize size 32 → 128; mean, std, interpolation kept.");

        // predict: the same labels and scores as the run's model.onnx.
        string p1 = Path.Combine(dir.Path, "p1.json"), p2 = Path.Combine(dir.Path, "p2.json");
        var byWeights = CliRunner.Run("predict", "--model", weights, "--images", images, "--top", "2", "--output", p1);
        Assert.AreEqual(0, byWeights.ExitCode, byWeights.Output + byWeights.Error);
        var byRun = CliRunner.Run("predict", "--model", run, "--images", images, "--top", "2", "--output", p2);
        Assert.AreEqual(0, byRun.ExitCode, byRun.Output + byRun.Error);
        var rows1 = Predictions(p1);
        var rows2 = Predictions(p2);
        Assert.AreEqual(6, rows1.Count);
        for (int i = 0; i < rows1.Count; i++)
        {
            Assert.AreEqual(rows2[i].Label, rows1[i].Label, rows1[i].Path);
            Assert.AreEqual(rows2[i].Score, rows1[i].Score, 1e-6, rows1[i].Path);
        }
        Assert.IsTrue(rows1.Select(r => r.Label).ToHashSet().IsSubsetOf(["Trouser", "Bag"]));

        // quantize: the float model it calibrates and compares against is the run's, so its fp32 accuracy is the same.
        string q1 = Path.Combine(dir.Path, "q1.onnx"), q2 = Path.Combine(dir.Path, "q2.onnx");
        var quantized = CliRunner.Run("quantize", "--model", weights, "--calibration", images, "--count", "6", "--output", q1, "--json");
        Assert.AreEqual(0, quantized.ExitCode, quantized.Output + quantized.Error);
        var reference = CliRunner.Run("quantize", "--model", run, "--calibration", images, "--count", "6", "--output", q2, "--json");
        Assert.AreEqual(0, reference.ExitCode, reference.Output + reference.Error);
        using var r1 = JsonDocument.Parse(quantized.Output);
        using var r2 = JsonDocument.Parse(reference.Output);
        Assert.AreEqual(r2.RootElement.GetProperty("fp32Accuracy").GetDouble(), r1.RootElement.GetProperty("fp32Accuracy").GetDouble());
        Assert.AreEqual(r2.RootElement.GetProperty("meanCosine").GetDouble(), r1.RootElement.GetProperty("meanCosine").GetDouble(), 1e-4);
        Assert.AreEqual(Mean, OnnxModelMetadata.Read(q1).Preprocessing.Mean);
    }

    private static List<(string Path, string Label, double Score)> Predictions(string json)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        return doc.RootElement.EnumerateArray()
            .Select(r => (r.GetProperty("path").GetString()!, r.GetProperty("label").GetString()!, r.GetProperty("score").GetDouble()))
            .OrderBy(r => r.Item1, StringComparer.Ordinal).ToList();
    }

    /// <summary>Seeded random B0 weights with a 2-class head, written with a recorded 32 px recipe (or the metadata given).</summary>
    private static string RecordedWeights(string folder, Action<Dictionary<string, string>>? damage = null)
    {
        string path = Path.Combine(folder, "model.safetensors");
        var random = RandomWeights.Create(EfficientNetSpec.Create(EfficientNetVariant.B0, numClasses: 2), seed: 6);
        var metadata = new Dictionary<string, string>(new RecipeMetadata("b0", new PreprocessingRecipe(32, 32, Mean, Std, ResizeInterpolation.Bilinear))
        {
            Labels = ["Trouser", "Bag"],
        }.ToMetadata());
        damage?.Invoke(metadata);
        SafeTensorsFile.Write(path, random.Weights.Entries, metadata);
        return path;
    }

    [TestMethod]
    public void ExportsMeanStdAndCropFractionOverrideTheRecordedRecipeAndSaySo()
    {
        using var dir = new TemporaryDirectory();
        string weights = RecordedWeights(dir.Path), model = Path.Combine(dir.Path, "m.onnx");
        var result = CliRunner.Run("export", "--weights", weights, "--mean", "0.5", "--std", "0.25,0.25,0.25", "--crop-fraction", "0.8", "--output", model);
        Assert.AreEqual(0, result.ExitCode, result.Output + result.Error);
        TestContext.WriteLine(result.Error);
        var recipe = OnnxModelMetadata.Read(model).Preprocessing;
        Assert.AreEqual(new PreprocessingRecipe(40, 32, new RgbValues(0.5f, 0.5f, 0.5f), new RgbValues(0.25f, 0.25f, 0.25f), ResizeInterpolation.Bilinear), recipe);
        StringAssert.Contains(result.Error, $"note: --crop-fraction 0.8 --mean 0.5 --std 0.25,0.25,0.25 overrides the preprocessing recorded in '{weights}': " +
            "resize size 32 → 40, mean 0.286,0.286,0.286 → 0.5,0.5,0.5, std 0.353,0.353,0.353 → 0.25,0.25,0.25; image size, interpolation kept.");

        var bad = CliRunner.Run("export", "--weights", weights, "--mean", "abc", "--output", model);
        Assert.AreEqual(1, bad.ExitCode);
        StringAssert.StartsWith(bad.Error, "error: --mean 'abc' is not one number or three comma-separated numbers");
        var fraction = CliRunner.Run("export", "--weights", weights, "--crop-fraction", "1.5", "--output", model);
        Assert.AreEqual(1, fraction.ExitCode);
        StringAssert.Contains(fraction.Error, "--crop-fraction must be in (0, 1]; got 1.5.");
    }

    [TestMethod]
    public void ATorchvisionFileWithoutMetadataKeepsThePublishedRecipe()
    {
        using var dir = new TemporaryDirectory();
        string model = Path.Combine(dir.Path, "b0.onnx"), smaller = Path.Combine(dir.Path, "b0-128.onnx");
        var result = CliRunner.Run("export", "--weights", Fixtures.Generated("b0.torchvision.pth"), "--output", model);
        Assert.AreEqual(0, result.ExitCode, result.Output + result.Error);
        Assert.AreEqual(new PreprocessingRecipe(256, 224, PreprocessingRecipe.ImageNetMean, PreprocessingRecipe.ImageNetStd, ResizeInterpolation.Bicubic),
            OnnxModelMetadata.Read(model).Preprocessing);
        Assert.IsNull(OnnxModelMetadata.Read(model).Labels);
        // No recorded recipe: a resolution is today's reduced-size use of the published recipe, with no note.
        result = CliRunner.Run("export", "--weights", Fixtures.Generated("b0.torchvision.pth"), "--resolution", "128", "--output", smaller);
        Assert.AreEqual(0, result.ExitCode, result.Output + result.Error);
        Assert.IsFalse(result.Error.Contains("note:", StringComparison.Ordinal), result.Error);
        var recipe = OnnxModelMetadata.Read(smaller).Preprocessing;
        Assert.AreEqual((128, 146), (recipe.CropSize, recipe.ResizeSize));
        Assert.AreEqual(PreprocessingRecipe.ImageNetMean, recipe.Mean);
    }

    [TestMethod]
    public void DamagedRecipeMetadataIsOneLineNamingTheFileAndTheKey()
    {
        using var dir = new TemporaryDirectory();
        string weights = RecordedWeights(dir.Path, m => m[RecipeMetadata.MeanKey] = "abc");
        string images = Images(dir.Path);
        string expected = $"error: '{weights}' has a damaged preprocessing recipe in its safetensors __metadata__: 'mean' is \"abc\"";
        foreach (var args in new[]
        {
            new[] { "export", "--weights", weights, "--output", Path.Combine(dir.Path, "m.onnx") },
            ["featurize", "--images", images, "--weights", weights, "--output", Path.Combine(dir.Path, "f.csv")],
            ["predict", "--model", weights, "--images", images],
        })
        {
            var result = CliRunner.Run(args);
            Assert.AreEqual(1, result.ExitCode, $"{args[0]}: {result.Output}{result.Error}");
            StringAssert.StartsWith(result.Error, expected, args[0]);
            Assert.AreEqual(1, result.Error.Trim().Split('\n').Length, $"{args[0]}: one line\n{result.Error}");
        }
        Assert.IsFalse(File.Exists(Path.Combine(dir.Path, "m.onnx")));
    }

    [TestMethod]
    public void ExplainWarnsOnceOnA32PxModelAndNotOnA128PxOne()
    {
        using var dir = new TemporaryDirectory();
        string images = Images(dir.Path);
        string small = PredictCommandTests.TinyModel(Path.Combine(dir.Path, "small"));
        var result = CliRunner.Run("predict", "--model", small, "--images", images, "--explain", Path.Combine(dir.Path, "cams-32"));
        Assert.AreEqual(0, result.ExitCode, result.Output + result.Error);
        var warnings = result.Error.Split('\n').Where(l => l.StartsWith("warning:", StringComparison.Ordinal)).ToList();
        Assert.AreEqual(1, warnings.Count, result.Error);
        TestContext.WriteLine(warnings[0]);
        StringAssert.Contains(warnings[0], "warning: The class activation maps have 1×1 cell: the last feature map is the 32 px input ÷ 32");
        StringAssert.Contains(warnings[0], "96 px or more gives at least 3×3 cells");
        Assert.AreEqual(6, Directory.GetFiles(Path.Combine(dir.Path, "cams-32"), "*.cam.png").Length, "the maps are still written");

        string large = Path.Combine(dir.Path, "large.onnx");
        var spec = EfficientNetSpec.Create(EfficientNetVariant.Custom(0.25, 0.25, 128, name: "tiny128"), numClasses: 2);
        EfficientNetOnnxExporter.Export(RandomWeights.Create(spec, seed: 1), large, new OnnxExportOptions { Labels = ["Trouser", "Bag"] });
        result = CliRunner.Run("predict", "--model", large, "--images", images, "--explain", Path.Combine(dir.Path, "cams-128"));
        Assert.AreEqual(0, result.ExitCode, result.Output + result.Error);
        Assert.IsFalse(result.Error.Contains("warning:", StringComparison.Ordinal), result.Error);
    }
}
