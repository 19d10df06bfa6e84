using System.Diagnostics;
using EfficientNet.Training.Training;
using Microsoft.ML.EfficientNet.Data;
using Microsoft.ML.EfficientNet.Evaluation;
using Microsoft.ML.EfficientNet.Onnx;
using Microsoft.ML.EfficientNet.Preprocessing;
using Microsoft.ML.EfficientNet.Quantization;

namespace EfficientNet.Training.Tests.Training;

/// <summary>
/// The int8 claim at its own strength: a ten-class B0 trained briefly from scratch on Fashion-MNIST (32 px) loses at most
/// one point of accuracy after <see cref="EfficientNetQuantizer"/> with its defaults, and agrees with fp32 on at least 97 %
/// of 1,000 test images the quantiser never saw (neither to calibrate nor to measure its held-out drop).
/// </summary>
[TestClass]
public sealed class QuantizedTenClassModelTests
{
    public TestContext TestContext { get; set; } = null!;

    private const int TrainPerClass = 150, Epochs = 4;

    /// <summary>
    /// The trained model, made once per machine and kept in the test cache (training is the slow part; the settings are
    /// in the folder name, so changing them trains again).
    /// </summary>
    private static readonly Lazy<string> Model = new(() =>
    {
        string cache = Environment.GetEnvironmentVariable("EFFICIENTNETML_CACHE") ?? Path.Combine(Path.GetTempPath(), "efficientnetml-test-cache");
        string folder = Path.Combine(cache, "test-models", $"fmnist10-b0-32px-{TrainPerClass}x{Epochs}-seed5");
        string model = Path.Combine(folder, "model.onnx");
        if (File.Exists(model)) return model;
        string scratch = folder + $".{Environment.ProcessId}";
        var result = EfficientNetTrainer.Train(new EfficientNetTrainingOptions
        {
            InitialWeights = null,
            Epochs = Epochs,
            BatchSize = 32,
            ImageSize = 32,
            Recipe = new PreprocessingRecipe(32, 32, new RgbValues(0.286f, 0.286f, 0.286f), new RgbValues(0.353f, 0.353f, 0.353f), ResizeInterpolation.Bilinear),
            Augmentation = AugmentationPreset.Shift,
            LearningRate = 3e-3,
            ValidationFraction = 0,
            OutputDirectory = scratch,
            Seed = 5,
            LogEverySteps = 0,
        }, new FashionMnistImageSet(true).TakePerClass(TrainPerClass));
        Assert.AreEqual(TrainingStatus.Completed, result.Status, result.Message);
        Directory.CreateDirectory(Path.GetDirectoryName(folder)!);
        if (!Directory.Exists(folder)) Directory.Move(scratch, folder);
        return model;
    });

    [TestMethod]
    public void ABrieflyTrainedTenClassModelLosesAtMostOnePointOnAThousandUnseenImages()
    {
        string fp32 = Model.Value;
        var clock = Stopwatch.StartNew();
        // Test images: the first 500 of each class calibrate (256) and measure the held-out drop (1,000); the last 100 of
        // each class are the unseen check.
        var test = new FashionMnistImageSet(false);
        var byClass = Enumerable.Range(0, test.Count).GroupBy(test.Label).ToList();
        var calibration = test.Subset(byClass.SelectMany(g => g.Take(500)).Order().ToList());
        var unseen = test.Subset(byClass.SelectMany(g => g.TakeLast(100)).Order().ToList());

        var result = EfficientNetQuantizer.Quantize(File.ReadAllBytes(fp32), calibration);
        var report = result.Report;
        TestContext.WriteLine($"quantised in {report.Seconds:F1} s: held-out {report.HeldOutImages} images, drop {report.AccuracyDrop:F2} points " +
                              $"(all int8 {report.AllLayersAccuracyDrop:F2}), float layers [{string.Join(", ", report.FloatLayers)}]");
        Assert.AreEqual(256, report.Images);
        Assert.AreEqual(1000, report.HeldOutImages);
        Assert.AreEqual(true, report.WithinMaxAccuracyDrop, $"held-out drop {report.AccuracyDrop}");

        using var dir = new TemporaryDirectory();
        string int8 = Path.Combine(dir.Path, "int8.onnx");
        File.WriteAllBytes(int8, result.Model);
        double fp32Accuracy = OnnxModelEvaluation.Evaluate(fp32, unseen).Metrics.Accuracy;
        double int8Accuracy = OnnxModelEvaluation.Evaluate(int8, unseen).Metrics.Accuracy;
        var metadata = OnnxModelMetadata.Read(fp32);
        var agreement = new Int8Check(File.ReadAllBytes(fp32), () => new EvaluationBatches(unseen, metadata.Preprocessing, 32).All(), unseen.Classes, metadata, 32)
            .Compare(result.Model);
        TestContext.WriteLine($"{unseen.Count} unseen images: fp32 {fp32Accuracy:P2}, int8 {int8Accuracy:P2}, agreement {agreement.Top1Agreement:P2} ({clock.Elapsed.TotalSeconds:F1} s)");

        Assert.AreEqual(1000, agreement.Images);
        // A model that learned little is no test of quantisation: ten classes, chance is 10 %.
        Assert.IsTrue(fp32Accuracy >= 0.6, $"fp32 accuracy {fp32Accuracy:P2}");
        Assert.IsTrue(int8Accuracy >= fp32Accuracy - 0.01 - 1e-12, $"fp32 {fp32Accuracy:P2}, int8 {int8Accuracy:P2}");
        Assert.IsTrue(agreement.Top1Agreement >= 0.97, $"top-1 agreement {agreement.Top1Agreement:P2}");
    }
}
