using EfficientNet.Training.Training;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Data;
using Microsoft.ML.EfficientNet.IO;
using Microsoft.ML.EfficientNet.Preprocessing;
using Microsoft.ML.EfficientNet.Scoring;
using Microsoft.ML.EfficientNet.Weights;

namespace EfficientNet.Training.Tests.Training;

/// <summary>
/// A run's preprocessing travels with its weights: every weights file it writes records the recipe (and labels and
/// conventions) in its safetensors metadata, features from its <c>model.safetensors</c> equal those from its
/// <c>model.onnx</c>, and a run started from such a file takes its recipe. Tiny real Fashion-MNIST runs at 32 px.
/// </summary>
[TestClass]
public sealed class RecipeTravelsTests
{
    public TestContext TestContext { get; set; } = null!;

    private static readonly int[] TwoClasses = [1, 8];

    /// <summary>Grey statistics, no crop, bilinear: nothing like B0's published 256/224 ImageNet recipe.</summary>
    private static readonly PreprocessingRecipe RunRecipe = new(32, 32, new RgbValues(0.286f, 0.286f, 0.286f), new RgbValues(0.353f, 0.353f, 0.353f), ResizeInterpolation.Bilinear);

    /// <summary>lukemelas' conventions (TF "SAME" padding, eps 1e-3), which the run keeps though it writes torchvision key names.</summary>
    private static readonly WeightSource LukeMelas = WeightSource.For(WeightFormat.LukeMelas, EfficientNetVariant.B0);

    private static EfficientNetTrainingOptions Options(string output, string initialWeights) => new()
    {
        Epochs = 1,
        BatchSize = 16,
        InitialWeights = initialWeights,
        Augmentation = AugmentationPreset.Shift,
        LearningRate = 3e-3,
        ValidationFraction = 0,
        OutputDirectory = output,
        Seed = 5,
        LogEverySteps = 0,
    };

    private static LabeledImageSet Images(int perClass) => new FashionMnistImageSet(true, TwoClasses).TakePerClass(perClass);

    /// <summary>One epoch from the lukemelas B0 fixture with an EMA, shared by the tests that read its files.</summary>
    private static readonly Lazy<TrainingResult> Run = new(() =>
    {
        string output = Path.Combine(Path.GetTempPath(), $"efficientnetml-recipe-run-{Environment.ProcessId}");
        if (Directory.Exists(output)) Directory.Delete(output, recursive: true);
        var options = Options(output, Fixtures.Generated("b0.lukemelas.pth"));
        options.ImageSize = 32;
        options.Recipe = RunRecipe;
        options.EmaDecay = 0.9;
        var result = EfficientNetTrainer.Train(options, Images(48));
        Assert.AreEqual(TrainingStatus.Completed, result.Status, result.Message);
        return result;
    });

    [ClassCleanup]
    public static void RemoveTheRun()
    {
        if (Run.IsValueCreated && Directory.Exists(Run.Value.OutputDirectory)) Directory.Delete(Run.Value.OutputDirectory, recursive: true);
    }

    [TestMethod]
    public void EveryWeightsFileOfARunRecordsItsRecipeLabelsAndConventions()
    {
        var folder = new RunFolder(Run.Value.OutputDirectory);
        string checkpoint = Path.Combine(folder.CheckpointsPath, RunFolder.EpochCheckpointName(1));
        var files = new[]
        {
            folder.WeightsPath, folder.BestWeightsPath,
            Path.Combine(checkpoint, RunFolder.WeightsFileName), Path.Combine(checkpoint, RunFolder.CheckpointEmaFileName),
        };
        foreach (string file in files)
        {
            Assert.IsTrue(File.Exists(file), file);
            var recorded = RecipeMetadata.Read(file);
            Assert.IsNotNull(recorded, $"{file} records no recipe");
            Assert.AreEqual("b0", recorded.Variant, file);
            Assert.AreEqual(RunRecipe, recorded.Preprocessing, file);
            CollectionAssert.AreEqual(new[] { "Trouser", "Bag" }, recorded.Labels!.ToArray(), file);
            Assert.AreEqual(LukeMelas, recorded.Source, file);
        }
        // The optimiser's state is not a weights file.
        Assert.IsNull(RecipeMetadata.Read(Path.Combine(checkpoint, RunFolder.CheckpointOptimizerFileName)));

        // Read back, model.safetensors is the network model.onnx was exported from, with its conventions.
        var weights = EfficientNetCheckpoint.Load(folder.WeightsPath);
        Assert.AreEqual(LukeMelas, weights.Source);
        Assert.AreEqual(PaddingMode.TensorFlowSame, weights.Source.Padding);
    }

    [TestMethod]
    public void FeaturesFromARunsModelSafetensorsEqualThoseFromItsModelOnnx()
    {
        var folder = new RunFolder(Run.Value.OutputDirectory);
        using var dir = new TemporaryDirectory();
        string images = Path.Combine(dir.Path, "images");
        FashionMnist.Load(train: false).WriteImageFolder(images, 3, TwoClasses);
        var paths = Directory.GetFiles(images, "*.png", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToArray();

        var fromWeights = Featurize(paths, folder.WeightsPath);
        var fromOnnx = Featurize(paths, folder.ModelPath);
        Assert.AreEqual(6, fromOnnx.Count);
        double max = fromWeights.Select((f, i) => Parity.MaxAbsDiff(fromOnnx[i], f)).Max();
        double scale = fromOnnx.Max(f => f.Max(Math.Abs));
        TestContext.WriteLine($"model.safetensors vs model.onnx: max |Δ| {max:E2}, features up to {scale:E2}");
        Assert.IsTrue(scale > 1e-3, $"features up to {scale}: too small to compare");
        Assert.IsTrue(max <= 1e-5 * scale, $"max |Δ| {max} of {scale}");
        Assert.IsTrue(Parity.MaxAbsDiff(fromOnnx[0], fromOnnx[^1]) > 1e-3 * scale, "different images, different features");
    }

    private static List<float[]> Featurize(string[] paths, string weights)
    {
        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadFromEnumerable(paths.Select(p => new PathRow { Path = p }));
        var options = new EfficientNetFeaturizerOptions { WeightsPath = weights, CacheExports = false };
        using var featurizer = ml.Transforms.EfficientNetFeaturizer("b0", inputColumnName: nameof(PathRow.Path), options: options).Fit(data);
        Assert.AreEqual(32, featurizer.Metadata.Resolution, weights);
        return featurizer.Transform(data).GetColumn<VBuffer<float>>("Features").Select(v => v.DenseValues().ToArray()).ToList();
    }

    private sealed class PathRow
    {
        public string Path { get; set; } = "";
    }

    [TestMethod]
    public void TrainingFromARunsWeightsTakesItsRecipeAndSaysWhatImageSizeOverrides()
    {
        string weights = new RunFolder(Run.Value.OutputDirectory).WeightsPath;
        using var dir = new TemporaryDirectory();

        // Nothing set: the recorded recipe whole (mean, std, size, no crop, bilinear) and conventions.
        var log = new ListLogger();
        var options = Options(Path.Combine(dir.Path, "same"), weights);
        options.Logger = log;
        var same = EfficientNetTrainer.Train(options, Images(16));
        Assert.AreEqual(TrainingStatus.Completed, same.Status, same.Message);
        Assert.AreEqual(RunRecipe, same.Recipe);
        Assert.AreEqual(LukeMelas, same.Weights!.Source);
        Assert.IsFalse(log.Entries.Any(e => e.Message.Contains("overrides", StringComparison.Ordinal)), "nothing overridden, nothing said");

        // ImageSize set: that size, the recorded statistics, crop fraction and filter; the change is logged.
        log = new ListLogger();
        options = Options(Path.Combine(dir.Path, "larger"), weights);
        options.ImageSize = 64;
        options.Logger = log;
        var larger = EfficientNetTrainer.Train(options, Images(16));
        Assert.AreEqual(TrainingStatus.Completed, larger.Status, larger.Message);
        Assert.AreEqual(RunRecipe with { CropSize = 64, ResizeSize = 64 }, larger.Recipe);
        var note = log.Entries.Single(e => e.Message.Contains("overrides", StringComparison.Ordinal));
        TestContext.WriteLine(note.Message);
        StringAssert.Contains(note.Message, $"ImageSize 64 overrides the preprocessing recorded in '{weights}': image size 32 → 64, resize size 32 → 64; mean, std, interpolation kept.");
        Assert.AreEqual(RunRecipe.Mean, RecipeMetadata.Read(larger.WeightsPath!)!.Preprocessing.Mean, "and the new run records it in turn");
    }
}
