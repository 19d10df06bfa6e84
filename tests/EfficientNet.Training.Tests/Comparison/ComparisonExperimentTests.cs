using EfficientNet.Training.Comparison;
using Microsoft.ML.EfficientNet.Data;
using Microsoft.ML.EfficientNet.Evaluation;
using EfficientNet.Training.Training;
using Microsoft.ML;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Onnx;
using Microsoft.ML.EfficientNet.Preprocessing;
using SkiaSharp;

namespace EfficientNet.Training.Tests.Comparison;

/// <summary>
/// Comparisons on tiny real data: three Fashion-MNIST classes × 20 images at 32 px, one epoch from scratch, B0 against a
/// tiny custom variant. The numbers are not meant to be good, only complete and consistent with the architecture and the
/// files: with a dozen steps batch-norm statistics have not settled (see TrainerTests), every model answers one class, and
/// the comparison must say so rather than recommend one.
/// </summary>
[TestClass]
public sealed class ComparisonExperimentTests
{
    private static readonly EfficientNetVariant Tiny = EfficientNetVariant.Custom(0.25, 0.25, 32, name: "tiny");
    private static readonly Lazy<LabeledImageSet> Images = new(() => new FashionMnistImageSet(true, [1, 8, 0]).TakePerClass(20));
    private static readonly string SharedOutput = Path.Combine(Path.GetTempPath(), "efficientnetml-compare-" + Guid.NewGuid().ToString("N")[..8]);
    private static readonly Lazy<ComparisonResult> Shared = new(() => Run(Settings(SharedOutput, EfficientNetVariant.B0, Tiny)));

    [ClassCleanup]
    public static void Cleanup()
    {
        if (Directory.Exists(SharedOutput)) Directory.Delete(SharedOutput, recursive: true);
    }

    private static EfficientNetComparisonSettings Settings(string output, params ComparisonCandidate[] candidates)
    {
        var settings = new EfficientNetComparisonSettings
        {
            Strategy = ComparisonStrategy.FineTune,
            FromScratch = true,
            Epochs = 1,
            ImageSize = 32,
            Seed = 3,
            OutputDirectory = output,
            LatencyWarmupRuns = 1,
            LatencyRuns = 5,
            ThroughputImages = 16,
            ConfigureTraining = (_, o) =>
            {
                o.BatchSize = 8;
                o.LearningRate = 3e-3;
                o.Augmentation = AugmentationPreset.Shift;
                o.Recipe = PreprocessingRecipe.Centered(o.ImageSize!.Value, 1, new RgbValues(0.286f, 0.286f, 0.286f), new RgbValues(0.353f, 0.353f, 0.353f));
                o.LogEverySteps = 0;
            },
        };
        foreach (var c in candidates) settings.Candidates.Add(c);
        return settings;
    }

    private static ComparisonResult Run(EfficientNetComparisonSettings settings) =>
        new MLContext(0).MulticlassClassification.CreateEfficientNetComparison(settings).Execute(Images.Value);

    [TestMethod]
    public void EveryCandidateIsMeasuredCompletelyAndConsistently()
    {
        var result = Shared.Value;
        Assert.AreEqual(2, result.Candidates.Count);
        Assert.AreEqual(60, result.TrainImages + result.HeldOutImages);
        Assert.AreEqual(12, result.HeldOutImages); // 20 % of each class of 20
        foreach (var r in result.Candidates)
        {
            Assert.AreEqual(CandidateStatus.Succeeded, r.Status, r.Error);
            var spec = EfficientNetSpec.Create(r.Variant, 3);
            Assert.AreEqual(spec.ParameterCount, r.Parameters, r.Name);
            Assert.AreEqual(spec.MultiplyAccumulates(32, 32), r.Macs, r.Name);
            Assert.AreEqual(32, r.ImageSize);
            Assert.IsTrue(r.Accuracy is >= 0 and <= 100, $"{r.Name} accuracy {r.Accuracy}");
            Assert.IsTrue(r.MacroF1 is >= 0 and <= 1, $"{r.Name} macro-F1 {r.MacroF1}");
            Assert.IsTrue(double.IsNaN(r.Top5), "three classes: no top-5");
            Assert.IsTrue(File.Exists(r.ModelPath), r.ModelPath);
            Assert.AreEqual(new FileInfo(r.ModelPath!).Length, r.OnnxBytes);
            var metadata = OnnxModelMetadata.Read(r.ModelPath!);
            Assert.AreEqual((r.Variant.Name, 3, 32), (metadata.Variant, metadata.NumClasses, metadata.Resolution));
            Assert.IsTrue(r.LatencyMilliseconds > 0 && r.LatencyP95Milliseconds >= r.LatencyMilliseconds, $"{r.LatencyMilliseconds} / {r.LatencyP95Milliseconds}");
            Assert.IsTrue(r.Throughput > 0);
            Assert.IsTrue(r.TrainSeconds > 0);
            Assert.IsTrue(r.PeakMemoryMegabytes > 50, $"peak {r.PeakMemoryMegabytes} MiB");
            Assert.AreEqual(1, r.Epochs);
            Assert.IsFalse(r.Reused || r.TimeLimited);
            // The accuracy is the exported model's on the held-out split.
            var (_, heldOut) = Images.Value.Split(0.2, 3);
            Assert.AreEqual(OnnxModelEvaluation.Evaluate(r.ModelPath!, heldOut).Metrics.Accuracy * 100, r.Accuracy, 1e-9);
        }
        // B0's published 5,288,548 parameters less its 1000-class head (1,281,000) plus a 3-class one (3,843).
        Assert.AreEqual(4_011_391L, result.Candidates[0].Parameters);
        foreach (var r in result.Candidates)
        {
            // Judged on the same 12 held-out images, 4 a class: the interval is Wilson's for the count right, chance one in three.
            var chance = r.Chance!;
            Assert.AreEqual(12, chance.Count, r.Name);
            Assert.AreEqual(100.0 / 3, r.ChanceAccuracy, 1e-9, r.Name);
            long correct = (long)Math.Round(r.Accuracy * 12 / 100);
            var (low, high) = ChanceAssessment.WilsonInterval(correct, 12);
            Assert.AreEqual((100 * low, 100 * high), (r.AccuracyLow, r.AccuracyHigh), r.Name);
            Assert.IsTrue(r.AccuracyLow <= r.Accuracy && r.Accuracy <= r.AccuracyHigh, r.Name);
            Assert.IsFalse(chance.AboveChance, $"{r.Name}: {r.Accuracy:F2} % after one epoch from scratch");
        }
        Assert.IsNull(result.Recommended);
        StringAssert.StartsWith(result.Recommendation, "no candidate learned beyond chance (33.33 %): the 95 % intervals of all 2 reach it; the most accurate is ");
        StringAssert.Contains(result.Recommendation, "Likely cause: trained from scratch on 48 training images for 1 epoch");
    }

    [TestMethod]
    public void TheReportHasTheTableThePlotsAndTheRecommendation()
    {
        using var dir = new TemporaryDirectory();
        var files = ComparisonReport.Write(Shared.Value, dir.Path);
        string json = File.ReadAllText(files.Json);
        foreach (string field in (string[])["\"variant\"", "\"accuracy\"", "\"accuracy_ci_low\"", "\"accuracy_ci_high\"", "\"chance_accuracy\"", "\"params\"", "\"macs\"", "\"latency_ms\"", "\"latency_p95_ms\"", "\"throughput\"", "\"train_seconds\"", "\"onnx_bytes\"", "\"peak_memory_mb\""])
            StringAssert.Contains(json, field);
        Assert.AreEqual(string.Join(",", ComparisonReport.Fields), File.ReadLines(files.Csv).First());
        Assert.AreEqual(3, File.ReadAllLines(files.Csv).Length);
        Assert.AreEqual(3, files.Plots.Count);
        foreach (string plot in files.Plots)
        {
            using var bitmap = SKBitmap.Decode(plot);
            Assert.IsNotNull(bitmap, plot);
            Assert.AreEqual((1000, 640), (bitmap.Width, bitmap.Height));
            StringAssert.Contains(File.ReadAllText(files.Html), $"src=\"{Path.GetFileName(plot)}\"");
        }
        string line = ComparisonReport.RecommendedLine(Shared.Value);
        StringAssert.StartsWith(line, "Recommended: none — no candidate learned beyond chance (33.33 %): ");
        StringAssert.Contains(File.ReadAllText(files.Html), System.Net.WebUtility.HtmlEncode(line));
        StringAssert.Contains(File.ReadAllText(files.Html), "<th>95 % interval</th>");
        Assert.IsFalse(File.ReadAllText(files.Html).Contains("top-5", StringComparison.Ordinal), "three classes: no top-5 column");
    }

    [TestMethod]
    public void AnExtendedComparisonReusesTheCandidatesThatFinished()
    {
        var first = Shared.Value;
        var extended = Run(Settings(SharedOutput, EfficientNetVariant.B0, Tiny, EfficientNetVariant.Custom(0.25, 0.5, 32, name: "tiny-deeper")));
        Assert.AreEqual(3, extended.Candidates.Count);
        for (int i = 0; i < 2; i++)
        {
            Assert.IsTrue(extended.Candidates[i].Reused, extended.Candidates[i].Name);
            // Not retrained: the result is the one saved the first time, to the tick.
            Assert.AreEqual(first.Candidates[i].FinishedUtc, extended.Candidates[i].FinishedUtc);
            Assert.AreEqual(first.Candidates[i].Accuracy, extended.Candidates[i].Accuracy);
            Assert.AreEqual(first.Candidates[i].TrainSeconds, extended.Candidates[i].TrainSeconds);
        }
        Assert.IsFalse(extended.Candidates[2].Reused);
        Assert.AreEqual(CandidateStatus.Succeeded, extended.Candidates[2].Status, extended.Candidates[2].Error);
    }

    [TestMethod]
    public void AFailingCandidateIsRecordedAndTheOthersGoOn()
    {
        using var dir = new TemporaryDirectory();
        string missing = Path.Combine(dir.Path, "missing.safetensors");
        var result = Run(Settings(dir.Path, new ComparisonCandidate(Tiny) { Name = "broken", WeightsPath = missing }, Tiny));
        Assert.AreEqual(CandidateStatus.Failed, result.Candidates[0].Status);
        StringAssert.Contains(result.Candidates[0].Error, missing);
        Assert.AreEqual(EfficientNetSpec.Create(Tiny, 3).ParameterCount, result.Candidates[0].Parameters);
        Assert.AreEqual(CandidateStatus.Succeeded, result.Candidates[1].Status, result.Candidates[1].Error);
        Assert.IsNull(result.Candidates[0].Chance, "a failed candidate is not judged");
        // The one that finished is judged alone (it is at chance after one epoch from scratch); the failed one is not named as learning.
        Assert.IsNull(result.Recommended);
        StringAssert.StartsWith(result.Recommendation, "no candidate learned beyond chance (33.33 %): tiny's accuracy ");
        Assert.IsFalse(result.MeetsConstraints(result.Candidates[0]));
    }

    [TestMethod]
    public void FineTuningStartsFromPublishedWeightsUnlessFromScratchOrGivenWeights()
    {
        using var dir = new TemporaryDirectory();
        var seen = new Dictionary<string, EfficientNetTrainingOptions>();
        EfficientNetComparisonSettings Capturing(bool fromScratch, params ComparisonCandidate[] candidates)
        {
            var settings = Settings(Path.Combine(dir.Path, fromScratch ? "scratch" : "pretrained"), candidates);
            settings.FromScratch = fromScratch;
            settings.CacheDirectory = Path.Combine(dir.Path, "cache");
            var configure = settings.ConfigureTraining!;
            settings.ConfigureTraining = (c, o) =>
            {
                configure(c, o);
                seen[$"{fromScratch}/{c.Name}"] = o;
            };
            return settings;
        }

        // The tiny variant has no published weights: asked to start from them, it fails before training, saying what to do.
        string given = Path.Combine(dir.Path, "missing.safetensors");
        var result = Run(Capturing(false, Tiny, new ComparisonCandidate(Tiny) { Name = "given", WeightsPath = given }));
        Assert.AreEqual("pretrained", seen["False/tiny"].InitialWeights);
        Assert.AreEqual(Path.Combine(dir.Path, "cache"), seen["False/tiny"].CacheDirectory);
        Assert.AreEqual(given, seen["False/given"].InitialWeights);
        Assert.AreEqual(CandidateStatus.Failed, result.Candidates[0].Status);
        Assert.AreEqual("InvalidOperationException: No weights are published for 'tiny' to fine-tune from; set FromScratch to train every candidate from scratch, " +
            "or give this candidate a WeightsPath.", result.Candidates[0].Error);
        StringAssert.Contains(result.Candidates[1].Error, given);

        // From scratch: no starting weights unless given (a 1 ms limit ends each run before its first step; only the options matter here).
        var scratch = Capturing(true, Tiny, new ComparisonCandidate(Tiny) { Name = "given", WeightsPath = given });
        scratch.TimePerCandidate = TimeSpan.FromMilliseconds(1);
        Run(scratch);
        Assert.IsNull(seen["True/tiny"].InitialWeights);
        Assert.AreEqual(given, seen["True/given"].InitialWeights, "given weights are used even from scratch");
        Assert.IsFalse(new EfficientNetComparisonSettings().FromScratch, "published weights by default");
    }

    [TestMethod]
    public void ATimeLimitThatEndsBeforeTheFirstEpochFailsThatCandidateSayingSo()
    {
        using var dir = new TemporaryDirectory();
        var settings = Settings(dir.Path, Tiny);
        settings.TimePerCandidate = TimeSpan.FromMilliseconds(1);
        var result = Run(settings);
        Assert.AreEqual(CandidateStatus.Failed, result.Candidates[0].Status);
        StringAssert.Contains(result.Candidates[0].Error, "time limit of 0s ended before the first epoch finished");
        Assert.IsNull(result.Recommended);
        StringAssert.StartsWith(result.Recommendation, "no candidate finished: tiny failed:");
    }

    [TestMethod]
    public void TheTotalBudgetSkipsCandidatesLeftWithoutTime()
    {
        using var dir = new TemporaryDirectory();
        var settings = Settings(dir.Path, new ComparisonCandidate(Tiny) { Name = "first" }, new ComparisonCandidate(Tiny) { Name = "second" });
        settings.TotalTime = TimeSpan.FromMilliseconds(1);
        var result = Run(settings);
        Assert.AreEqual(CandidateStatus.Failed, result.Candidates[0].Status, "the first candidate gets what is left, too little for an epoch");
        Assert.AreEqual(CandidateStatus.Skipped, result.Candidates[1].Status);
        StringAssert.Contains(result.Candidates[1].Error, "total time budget");
    }

    [TestMethod]
    public void TheFeaturesStrategyTurnsTheMlNetClassifierIntoTheModelsHead()
    {
        using var dir = new TemporaryDirectory();
        var settings = Settings(dir.Path, Tiny);
        settings.Strategy = ComparisonStrategy.Features;
        settings.UseRandomWeights = true;
        var result = Run(settings);
        var r = result.Candidates.Single();
        Assert.AreEqual(CandidateStatus.Succeeded, r.Status, r.Error);
        Assert.AreEqual(EfficientNetSpec.Create(Tiny, 3).ParameterCount, r.Parameters);
        Assert.AreEqual(3, OnnxModelMetadata.Read(r.ModelPath!).NumClasses);
        Assert.IsTrue(r.Accuracy is >= 0 and <= 100);
        Assert.AreEqual(0, r.Epochs);
        Assert.IsFalse(File.Exists(Path.Combine(dir.Path, "tiny", "backbone.onnx")), "the intermediate features model is removed");
    }

    [TestMethod]
    public void TheFeaturesStrategyWithoutWeightsOfflineFailsNamingWhatIsMissing()
    {
        using var dir = new TemporaryDirectory();
        var settings = Settings(Path.Combine(dir.Path, "out"), EfficientNetVariant.B0, Tiny);
        settings.Strategy = ComparisonStrategy.Features;
        settings.CacheDirectory = Path.Combine(dir.Path, "empty-cache");
        settings.AllowDownload = false;
        var result = Run(settings);
        Assert.AreEqual(CandidateStatus.Failed, result.Candidates[0].Status);
        StringAssert.Contains(result.Candidates[0].Error, "not in the cache");
        Assert.AreEqual(CandidateStatus.Failed, result.Candidates[1].Status);
        StringAssert.Contains(result.Candidates[1].Error, "No pretrained weights are published for 'tiny'");
    }
}
