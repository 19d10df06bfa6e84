using System.Reflection;
using EfficientNet.Training.MLNet;
using Microsoft.ML.EfficientNet.Scoring;
using Microsoft.ML.EfficientNet.Runtime;
using Microsoft.ML.EfficientNet.Preprocessing;
using EfficientNet.Training.Data;

namespace EfficientNet.Training.Tests;

/// <summary>
/// The libraries export what an app calls or receives (catalogs, estimators, transformers, options, results, the
/// predictor, exporter, quantizer, trainer and comparison) and keep their plumbing internal; PublicApiAnalyzers records
/// every member in PublicAPI.*.txt, this test bounds the number of types and names the plumbing that must stay inside.
/// </summary>
[TestClass]
public sealed class PublicSurfaceTests
{
    private static readonly Assembly Scoring = typeof(EfficientNetFeaturizerEstimator).Assembly;
    private static readonly Assembly Training = typeof(EfficientNetMulticlassTrainer).Assembly;

    [TestMethod]
    public void TheScoringLibraryExportsAtMostThirtyTypes() => AssertAtMost(Scoring, "Microsoft.ML.EfficientNet", 30);

    [TestMethod]
    public void TheTrainingLibraryExportsAtMostTwentyFiveTypes() => AssertAtMost(Training, "EfficientNet.Training", 25);

    [TestMethod]
    public void PlumbingStaysInternal()
    {
        string[] plumbing =
        [
            "EfficientNetOnnxSession", "StateDict", "WeightTensor", "TorchvisionInit", "TensorInit", "LayerRole", "IdxFile",
            "RgbImage", "TrainingBatches", "ImageBatch", "RunFolder", "EvaluationBatches", "Optimizer", "AdamW", "PaddedConv2d",
            "BatchNorm2d", "EfficientNetSpec", "WeightsResolver", "OnnxModelMetadata", "ImageDecoder", "EfficientNetModel",
        ];
        var all = Scoring.GetTypes().Concat(Training.GetTypes()).ToList();
        foreach (string name in plumbing)
        {
            var types = all.Where(t => t.Name == name).ToList();
            Assert.AreEqual(1, types.Count, $"{name} is defined once in the two libraries");
            Assert.IsFalse(types[0].IsVisible, $"{types[0].FullName} is exported");
        }
    }

    private static void AssertAtMost(Assembly assembly, string name, int limit)
    {
        Assert.AreEqual(name, assembly.GetName().Name);
        var exported = assembly.GetExportedTypes().Select(t => t.FullName!).Order(StringComparer.Ordinal).ToList();
        Assert.IsTrue(exported.Count >= 10, $"the exported types were read: {exported.Count}");
        Assert.IsTrue(exported.Count <= limit, $"{name} exports {exported.Count} types (at most {limit}):\n{string.Join("\n", exported)}");
    }
}
