using EfficientNet.Training.Comparison;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Data;
using Microsoft.ML.EfficientNet.Scoring;

namespace EfficientNet.Training.Tests.Comparison;

/// <summary>
/// The features strategy claims that the ONNX model it writes predicts what the ML.NET classifier fitted on the
/// features predicts. Checked against ML.NET itself: the test featurizes the same training images with the same
/// weights, fits the same trainer with the same seed, and compares its probabilities on held-out images with the
/// exported model's, run through <see cref="EfficientNetPredictor"/> on the image files. The classes are colours
/// (<see cref="ColourClasses"/>), so the classifier is right on most held-out images and the labels are checked too.
/// </summary>
[TestClass]
public sealed class FeaturesStrategyOracleTests
{
    private const int Size = 64, Seed = 3;

    /// <summary>
    /// Bound on |Δ probability|. The two sides see the same pixels through two decoding paths and ML.NET's L-BFGS stops
    /// at its tolerance, so the fitted weights may differ in the last digits; measured 1e-6 at most. A head with two
    /// class rows swapped or its bias dropped is off by 1e-1 or more.
    /// </summary>
    private const double ProbabilityBound = 1e-3;

    public TestContext TestContext { get; set; } = null!;

    private sealed class PathRow
    {
        public string Path { get; set; } = "";
    }

    private sealed class FeatureRow
    {
        public float[] Features { get; set; } = [];

        public uint Label { get; set; }
    }

    private sealed class Scored
    {
        public float[] Score { get; set; } = [];

        public uint PredictedLabel { get; set; }
    }

    [TestMethod]
    public void TheExportedModelPredictsWhatTheMlNetClassifierPredicts()
    {
        using var dir = new TemporaryDirectory();
        // Three colour classes: 28 training and 12 held-out images each.
        string folder = Path.Combine(dir.Path, "images");
        ColourClasses.Write(folder, perClass: 40);
        var all = FileImageSet.FromFolder(folder);
        var byClass = Enumerable.Range(0, all.Count).GroupBy(all.Label).OrderBy(g => g.Key).ToList();
        var trainIndices = byClass.SelectMany(g => g.Take(28)).ToList();
        var heldOutIndices = byClass.SelectMany(g => g.Skip(28)).ToList();
        FileImageSet Subset(List<int> indices) => new(indices.Select(all.Describe), indices.Select(all.Label), all.Classes);
        var train = Subset(trainIndices);
        var heldOut = Subset(heldOutIndices);
        Assert.IsTrue(File.Exists(train.Describe(0)), "Describe gives the file");

        string weights = Fixtures.Generated("b0.torchvision.pth");
        var settings = new EfficientNetComparisonSettings
        {
            Strategy = ComparisonStrategy.Features,
            FeatureClassifier = FeatureClassifier.LbfgsMaximumEntropy,
            ImageSize = Size,
            Seed = Seed,
            OutputDirectory = Path.Combine(dir.Path, "compare"),
            LatencyWarmupRuns = 1,
            LatencyRuns = 3,
            ThroughputImages = 8,
        };
        settings.Candidates.Add(new ComparisonCandidate(EfficientNetVariant.B0) { WeightsPath = weights });
        var result = new MLContext(0).MulticlassClassification.CreateEfficientNetComparison(settings).Execute(train, heldOut);
        var candidate = result.Candidates.Single();
        Assert.AreEqual(CandidateStatus.Succeeded, candidate.Status, candidate.Error);

        // The oracle: ML.NET's own classifier, fitted here on the features of the same weights at the same size.
        var ml = new MLContext(Seed);
        var trainFeatures = Featurize(ml, weights, train);
        int width = trainFeatures[0].Length, classes = train.Classes.Count;
        var schema = SchemaDefinition.Create(typeof(FeatureRow));
        schema[nameof(FeatureRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, width);
        schema[nameof(FeatureRow.Label)].ColumnType = new KeyDataViewType(typeof(uint), classes);
        // LoadFromEnumerable takes key values zero-based: class c is c (read back as the raw key c + 1).
        var trainData = ml.Data.LoadFromEnumerable(trainFeatures.Select((f, i) => new FeatureRow { Features = f, Label = (uint)train.Label(i) }), schema);
        var classifier = ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy(nameof(FeatureRow.Label), nameof(FeatureRow.Features)).Fit(trainData);
        var heldOutFeatures = Featurize(ml, weights, heldOut);
        var heldOutData = ml.Data.LoadFromEnumerable(heldOutFeatures.Select((f, i) => new FeatureRow { Features = f, Label = (uint)heldOut.Label(i) }), schema);
        var expected = ml.Data.CreateEnumerable<Scored>(classifier.Transform(heldOutData), reuseRowObject: false).ToList();

        using var predictor = EfficientNetPredictor.Load(candidate.ModelPath!);
        CollectionAssert.AreEqual(train.Classes.ToArray(), predictor.Labels.ToArray(), "the model's labels are the classes in key order");
        double worst = 0;
        int correct = 0, unsure = 0;
        var predicted = new HashSet<int>();
        for (int i = 0; i < heldOut.Count; i++)
        {
            var logits = predictor.Predict(heldOut.Describe(i), top: classes).Logits!;
            var probabilities = Softmax(logits);
            int argmax = Array.IndexOf(probabilities, probabilities.Max());
            Assert.AreEqual((int)expected[i].PredictedLabel - 1, argmax, $"{heldOut.Describe(i)}: the ONNX model's class differs from ML.NET's (ONNX [{string.Join(", ", probabilities.Select(p => p.ToString("F4")))}], ML.NET [{string.Join(", ", expected[i].Score.Select(p => p.ToString("F4")))}])");
            for (int c = 0; c < classes; c++)
            {
                double delta = Math.Abs(probabilities[c] - expected[i].Score[c]);
                worst = Math.Max(worst, delta);
                Assert.IsTrue(delta <= ProbabilityBound, $"{heldOut.Describe(i)}, class {train.Classes[c]}: ONNX probability {probabilities[c]:F5}, ML.NET's {expected[i].Score[c]:F5}");
            }
            if (argmax == heldOut.Label(i)) correct++;
            predicted.Add(argmax);
            if (probabilities.Max() < 0.9) unsure++;
        }
        TestContext.WriteLine($"{heldOut.Count} held-out images: max |Δ probability| {worst:E2}; {predicted.Count} classes predicted; {unsure} below 0.9; {correct} correct; reported accuracy {candidate.Accuracy:F2} %");
        // The comparison measured the same predictions it reports.
        Assert.AreEqual(100.0 * correct / heldOut.Count, candidate.Accuracy, 1e-9);
        // The check can fail: the classifier knows the colours (two class rows swapped would move the arg max of their
        // images) and is not certain of every image (a dropped or scaled bias would move the probabilities).
        Assert.IsTrue(correct >= 0.8 * heldOut.Count, $"{correct} of {heldOut.Count} held-out images right: the classifier should know the colours");
        Assert.AreEqual(classes, predicted.Count, "every class is predicted");
        Assert.IsTrue(unsure >= 3, $"only {unsure} held-out images have probabilities below 0.9");
    }

    private static List<float[]> Featurize(MLContext ml, string weights, FileImageSet images)
    {
        var data = ml.Data.LoadFromEnumerable(Enumerable.Range(0, images.Count).Select(i => new PathRow { Path = images.Describe(i) }).ToList());
        using var featurizer = ml.Transforms.EfficientNetFeaturizer("b0", inputColumnName: nameof(PathRow.Path),
            options: new EfficientNetFeaturizerOptions { WeightsPath = weights, Resolution = Size }).Fit(data);
        return featurizer.Transform(data).GetColumn<VBuffer<float>>("Features").Select(v => v.DenseValues().ToArray()).ToList();
    }

    private static double[] Softmax(IReadOnlyList<float> logits)
    {
        double max = logits.Max();
        var e = logits.Select(v => Math.Exp(v - max)).ToArray();
        double sum = e.Sum();
        return e.Select(v => v / sum).ToArray();
    }
}
