using EfficientNet.Training.Comparison;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Evaluation;

namespace EfficientNet.Training.Tests.Comparison;

/// <summary>The recommendation rule, the Pareto front, macro-F1 and percentiles on synthetic numbers.</summary>
[TestClass]
public sealed class ComparisonRecommendationTests
{
    private static CandidateResult Result(string name, double accuracy, long parameters, double latency, long bytes = 1_000_000,
        CandidateStatus status = CandidateStatus.Succeeded, double macroF1 = double.NaN, int perClass = 1000) => new()
    {
        Name = name,
        Variant = EfficientNetVariant.B0,
        Strategy = ComparisonStrategy.FineTune,
        Status = status,
        Error = status == CandidateStatus.Succeeded ? null : "OutOfMemoryException: out of memory",
        ImageSize = 32,
        Classes = 3,
        Accuracy = status == CandidateStatus.Succeeded ? accuracy : double.NaN,
        Confusion = status == CandidateStatus.Succeeded ? Confusion((int)Math.Round(accuracy / 100 * 3 * perClass), perClass) : null,
        MacroF1 = macroF1,
        Parameters = parameters,
        Macs = parameters * 2,
        OnnxBytes = bytes,
        LatencyMilliseconds = latency,
    };

    /// <summary>Three balanced classes of <paramref name="perClass"/> images with <paramref name="correct"/> right answers, the wrong ones on the next class.</summary>
    private static long[,] Confusion(int correct, int perClass)
    {
        var confusion = new long[3, 3];
        for (int k = 0; k < 3; k++)
        {
            int right = correct / 3 + (k < correct % 3 ? 1 : 0);
            confusion[k, k] = right;
            confusion[k, (k + 1) % 3] = perClass - right;
        }
        return confusion;
    }

    private static readonly CandidateResult[] Three =
    [
        Result("small", 80, 1_000_000, 5),
        Result("medium", 90, 5_000_000, 12),
        Result("large", 93, 20_000_000, 30, bytes: 80_000_000),
    ];

    [TestMethod]
    public void WithoutConstraintsTheMostAccurateIsRecommended()
    {
        var (best, reason) = ComparisonRecommendation.Choose(Three, new ComparisonConstraints(), ComparisonMetric.Accuracy);
        Assert.AreEqual("large", best?.Name);
        StringAssert.StartsWith(reason, "large (accuracy 93 %");
        StringAssert.Contains(reason, "the most accurate of 3 finished candidates");
        // On 3,000 images 93 % lies well above 90 %: the intervals are clear of each other, so the winner is named as such.
        var (low, high) = ChanceAssessment.WilsonInterval(2790, 3000);
        StringAssert.Contains(reason, $"95 % interval {100 * low:0.00}–{100 * high:0.00} %");
        StringAssert.EndsWith(reason, "its 95 % interval clear of the others'");
    }

    [TestMethod]
    public void TheMostAccurateCandidateMeetingEveryConstraintIsRecommended()
    {
        var limits = new ComparisonConstraints { MaxLatencyMilliseconds = 20, MaxParameters = 10_000_000, MinAccuracy = 85 };
        var (best, reason) = ComparisonRecommendation.Choose(Three, limits, ComparisonMetric.Accuracy);
        Assert.AreEqual("medium", best?.Name);
        StringAssert.Contains(reason, "of 1 candidate meeting the constraints");
        CollectionAssert.AreEqual(new[] { "accuracy 80 % < 85 %" }, ComparisonRecommendation.Violations(Three[0], limits).ToArray());
        CollectionAssert.AreEqual(new[] { "latency 30 ms > 20 ms", "20,000,000 parameters > 10,000,000" }, ComparisonRecommendation.Violations(Three[2], limits).ToArray());
        Assert.AreEqual(0, ComparisonRecommendation.Violations(Three[1], limits).Count);
    }

    [TestMethod]
    public void ModelSizeIsLimitedInMegabytes()
    {
        var limits = new ComparisonConstraints { MaxModelMegabytes = 50 };
        Assert.AreEqual("medium", ComparisonRecommendation.Choose(Three, limits, ComparisonMetric.Accuracy).Recommended?.Name);
        CollectionAssert.AreEqual(new[] { "model 80 MB > 50 MB" }, ComparisonRecommendation.Violations(Three[2], limits).ToArray());
    }

    [TestMethod]
    public void WhenNoneMeetsTheConstraintsTheReasonNamesEachViolation()
    {
        var (best, reason) = ComparisonRecommendation.Choose(Three, new ComparisonConstraints { MaxLatencyMilliseconds = 4 }, ComparisonMetric.Accuracy);
        Assert.IsNull(best);
        Assert.AreEqual("no candidate meets the constraints: small latency 5 ms > 4 ms; medium latency 12 ms > 4 ms; large latency 30 ms > 4 ms", reason);
    }

    [TestMethod]
    public void FailedCandidatesAreNeverRecommendedAndAreNamedWhenNothingFinished()
    {
        CandidateResult[] results = [Result("broken", 99, 1000, 1, status: CandidateStatus.Failed), Result("ok", 70, 2000, 2)];
        Assert.AreEqual("ok", ComparisonRecommendation.Choose(results, new ComparisonConstraints(), ComparisonMetric.Accuracy).Recommended?.Name);
        var (none, reason) = ComparisonRecommendation.Choose([results[0]], new ComparisonConstraints(), ComparisonMetric.Accuracy);
        Assert.IsNull(none);
        Assert.AreEqual("no candidate finished: broken failed: OutOfMemoryException: out of memory", reason);
    }

    [TestMethod]
    public void MacroF1CanRankInsteadOfAccuracy()
    {
        CandidateResult[] results = [Result("a", 90, 1000, 1, macroF1: 0.60), Result("b", 85, 1000, 1, macroF1: 0.80)];
        Assert.AreEqual("b", ComparisonRecommendation.Choose(results, new ComparisonConstraints(), ComparisonMetric.MacroF1).Recommended?.Name);
        Assert.AreEqual("a", ComparisonRecommendation.Choose(results, new ComparisonConstraints(), ComparisonMetric.Accuracy).Recommended?.Name);
    }

    [TestMethod]
    public void TiesGoToTheCheaperCandidate()
    {
        CandidateResult[] results = [Result("big", 90, 9000, 1), Result("cheap", 90, 1000, 1)];
        Assert.AreEqual("cheap", ComparisonRecommendation.Choose(results, new ComparisonConstraints(), ComparisonMetric.Accuracy).Recommended?.Name);
    }

    [TestMethod]
    public void WhenEveryIntervalReachesChanceNoneIsRecommendedSayingWhyAndWhatToDo()
    {
        // 24 held-out images, 8 a class: 11 right is 45.8 %, but its interval (27.9–64.9 %) reaches the 33.33 % majority rate.
        CandidateResult[] results = [Result("b0", 100 * 11 / 24.0, 4_000_000, 5, perClass: 8), Result("b1", 100 * 8 / 24.0, 6_500_000, 8, perClass: 8)];
        var (best, reason) = ComparisonRecommendation.Choose(results, new ComparisonConstraints(), ComparisonMetric.Accuracy, ["a", "b", "c"], "trained from scratch on 96 images");
        Assert.IsNull(best);
        var (low, high) = ChanceAssessment.WilsonInterval(11, 24);
        Assert.AreEqual("no candidate learned beyond chance (33.33 %): the 95 % intervals of all 2 reach it; the most accurate is b0, whose " +
            $"accuracy 45.83 % (95 % interval {100 * low:0.00}–{100 * high:0.00} %, 24 images) is not above the majority-class rate 33.33 %. " +
            "Likely cause: trained from scratch on 96 images. What to do: start from pretrained weights, use more images or more epochs, or lower the learning rate.", reason);
        var line = ComparisonReport.RecommendedLine(new ComparisonResult
        {
            Candidates = results, Recommended = best, Recommendation = reason, Violations = results.ToDictionary(r => r.Name, r => (IReadOnlyList<string>)[]),
            Constraints = new ComparisonConstraints(), Metric = ComparisonMetric.Accuracy, TrainImages = 96, HeldOutImages = 24, ClassNames = ["a", "b", "c"], OutputDirectory = ".",
        });
        StringAssert.StartsWith(line, "Recommended: none — no candidate learned beyond chance (33.33 %): ");
        StringAssert.EndsWith(line, "lower the learning rate.");
        Assert.IsFalse(line.EndsWith("..", StringComparison.Ordinal));
    }

    [TestMethod]
    public void TheMostAccurateCandidateIsPassedOverWhenItsIntervalReachesChance()
    {
        // 300 held-out images: 36 % is within noise of the 33.33 % majority rate; 45 % is not. Constraints do not rescue the first.
        CandidateResult[] results = [Result("noisy", 36, 1_000, 1, perClass: 100), Result("learned", 45, 9_000, 9, perClass: 100)];
        Assert.IsFalse(results[0].Chance!.AboveChance);
        Assert.IsTrue(results[1].Chance!.AboveChance);
        Assert.AreEqual("learned", ComparisonRecommendation.Choose(results, new ComparisonConstraints(), ComparisonMetric.Accuracy).Recommended?.Name);
        var (none, reason) = ComparisonRecommendation.Choose(results, new ComparisonConstraints { MaxParameters = 5_000 }, ComparisonMetric.Accuracy);
        Assert.IsNull(none);
        var (low, high) = ChanceAssessment.WilsonInterval(108, 300);
        Assert.AreEqual($"no candidate meets the constraints: noisy at chance (95 % interval {100 * low:0.00}–{100 * high:0.00} % reaches the majority-class rate 33.33 %); " +
            "learned 9,000 parameters > 5,000", reason);
    }

    [TestMethod]
    public void OverlappingIntervalsRecommendTheCheapestByLatencyNamingTheOthers()
    {
        // 200 held-out images: 85 %, 86 % and 87 % overlap; 70 % is clearly worse and is not part of the group.
        CandidateResult[] results =
        [
            Result("b2", 87, 9_000_000, 30, perClass: 200),
            Result("b1", 86, 7_000_000, 12, perClass: 200),
            Result("b0", 85, 4_000_000, 15, perClass: 200),
            Result("tiny", 70, 100_000, 2, perClass: 200),
        ];
        var (best, reason) = ComparisonRecommendation.Choose(results, new ComparisonConstraints(), ComparisonMetric.Accuracy);
        Assert.AreEqual("b1", best?.Name, "the fastest of the three that overlap");
        StringAssert.StartsWith(reason, "b1 (accuracy 86 %, 95 % interval ");
        var (l2, h2) = ChanceAssessment.WilsonInterval(522, 600);
        var (l0, h0) = ChanceAssessment.WilsonInterval(510, 600);
        StringAssert.Contains(reason, $": indistinguishable from b2 (87 %, 95 % interval {100 * l2:0.00}–{100 * h2:0.00} %) and b0 (85 %, 95 % interval {100 * l0:0.00}–{100 * h0:0.00} %) " +
            "on 600 held-out images (their 95 % intervals overlap), so the cheapest of them by latency is recommended; b2 is the most accurate of 4 finished candidates");
        Assert.IsFalse(reason.Contains("tiny", StringComparison.Ordinal), reason);
    }

    [TestMethod]
    public void OverlappingIntervalsWithoutLatencyRecommendTheFewestParameters()
    {
        CandidateResult[] results = [Result("big", 88, 9_000_000, double.NaN, perClass: 50), Result("small", 86, 2_000_000, 1, perClass: 50)];
        var (best, reason) = ComparisonRecommendation.Choose(results, new ComparisonConstraints(), ComparisonMetric.Accuracy);
        Assert.AreEqual("small", best?.Name);
        StringAssert.Contains(reason, "indistinguishable from big (88 %");
        StringAssert.Contains(reason, "on 150 held-out images");
        StringAssert.Contains(reason, "the cheapest of them by parameters");
    }

    [TestMethod]
    public void ASucceededCandidateWithoutAConfusionMatrixCannotBeJudged()
    {
        var unjudged = Result("x", 90, 1000, 1) with { Confusion = null };
        Assert.IsNull(unjudged.Chance);
        Assert.IsTrue(double.IsNaN(unjudged.AccuracyLow));
        var error = Assert.ThrowsExactly<ArgumentException>(() => ComparisonRecommendation.Choose([unjudged], new ComparisonConstraints(), ComparisonMetric.Accuracy));
        StringAssert.Contains(error.Message, "'x'");
    }

    [TestMethod]
    public void ThePlotsYAxisSpansTenPointsAtLeastAndIncludesChance()
    {
        // Equal accuracies do not fill the plot, chance is on it, and the axis stays inside 0–100 %.
        var (lo, hi) = ComparisonPlots.YRange([33.33, 33.34]);
        Assert.IsTrue(hi - lo >= ComparisonPlots.MinimumSpan, $"{lo}–{hi}");
        Assert.IsTrue(lo <= 33.33 && hi >= 33.34);
        (lo, hi) = ComparisonPlots.YRange([91, 92, 33.33]);
        Assert.IsTrue(lo <= 33.33 && hi >= 92, $"{lo}–{hi}");
        (lo, hi) = ComparisonPlots.YRange([99.5, 100]);
        Assert.AreEqual(100, hi);
        Assert.IsTrue(hi - lo >= ComparisonPlots.MinimumSpan, $"{lo}–{hi}");
        (lo, hi) = ComparisonPlots.YRange([0, 1]);
        Assert.AreEqual(0, lo);
        Assert.IsTrue(hi >= ComparisonPlots.MinimumSpan);
    }

    [TestMethod]
    public void TheReportMarksAClearWinnerWithItsIntervalAndShowsTopFiveOnlyWithMoreThanFiveClasses()
    {
        using var dir = new TemporaryDirectory();
        ComparisonResult Report(CandidateResult[] results, string folder)
        {
            var (best, reason) = ComparisonRecommendation.Choose(results, new ComparisonConstraints(), ComparisonMetric.Accuracy);
            var result = new ComparisonResult
            {
                Candidates = results, Recommended = best, Recommendation = reason, Violations = results.ToDictionary(r => r.Name, r => (IReadOnlyList<string>)[]),
                Constraints = new ComparisonConstraints(), Metric = ComparisonMetric.Accuracy, TrainImages = 2400, HeldOutImages = 600, ClassNames = ["a", "b", "c"],
                OutputDirectory = Path.Combine(dir.Path, folder),
            };
            ComparisonReport.Write(result, result.OutputDirectory);
            return result;
        }

        var three = Report([Result("b0", 70, 4_000_000, 5, perClass: 200), Result("b1", 90, 6_500_000, 8, perClass: 200)], "three");
        Assert.AreEqual("b1", three.Recommended?.Name);
        using (var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(three.OutputDirectory, "results.json"))))
        {
            var rows = json.RootElement.EnumerateArray().ToArray();
            CollectionAssert.AreEqual(new[] { false, true }, rows.Select(r => r.GetProperty("recommended").GetBoolean()).ToArray());
            var (low, high) = ChanceAssessment.WilsonInterval(540, 600);
            Assert.AreEqual(100 * low, rows[1].GetProperty("accuracy_ci_low").GetDouble(), 1e-9);
            Assert.AreEqual(100 * high, rows[1].GetProperty("accuracy_ci_high").GetDouble(), 1e-9);
            Assert.AreEqual(100.0 / 3, rows[1].GetProperty("chance_accuracy").GetDouble(), 1e-9);
        }
        string html = File.ReadAllText(Path.Combine(three.OutputDirectory, "report.html"));
        StringAssert.Contains(html, "<th>95 % interval</th>");
        StringAssert.Contains(html, $"<td>{ComparisonReport.IntervalText(three.Candidates[1])}</td>");
        Assert.IsFalse(html.Contains("top-5", StringComparison.Ordinal), "three classes: no top-5 column");

        // Six classes: the measured top-5 has its column.
        var six = Report([Result("b0", 70, 4_000_000, 5, perClass: 200) with { Classes = 6, Top5 = 97.5 }], "six");
        StringAssert.Contains(File.ReadAllText(Path.Combine(six.OutputDirectory, "report.html")), "<th>top-5 %</th>");
        Assert.IsTrue(ComparisonReport.HasTop5(six));
    }

    [TestMethod]
    public void TheParetoFrontHoldsThePointsNoOtherBeats()
    {
        // (cost, score): 1 is beaten by 0 (cheaper and better), 3 by 2 (same cost, better), 5 has NaN.
        (double, double)[] points = [(1, 80), (2, 75), (3, 85), (3, 84), (5, 90), (double.NaN, 99), (0.5, 60)];
        CollectionAssert.AreEqual(new[] { 6, 0, 2, 4 }, ComparisonRecommendation.ParetoFront(points).ToArray());
        // Equal points do not dominate each other.
        CollectionAssert.AreEqual(new[] { 0, 1 }, ComparisonRecommendation.ParetoFront([(1, 1), (1, 1)]).ToArray());
    }

    [TestMethod]
    public void MacroF1AveragesThePerClassF1()
    {
        // F1 = 2·tp / (actual + predicted) per class: class 0 has 9 examples and 10 predictions, class 1 has 11 and 10.
        long[,] confusion = { { 8, 1 }, { 2, 9 } };
        double f0 = 2.0 * 8 / (9 + 10), f1 = 2.0 * 9 / (11 + 10);
        Assert.AreEqual((f0 + f1) / 2, CandidateMeasurements.MacroF1(confusion), 1e-12);
        // A class nobody has and nobody predicts does not count; one never predicted counts as 0.
        Assert.AreEqual(1.0, CandidateMeasurements.MacroF1(new long[,] { { 5, 0 }, { 0, 0 } }), 1e-12);
        Assert.AreEqual((0 + 10.0 / 15) / 2, CandidateMeasurements.MacroF1(new long[,] { { 0, 5 }, { 0, 5 } }), 1e-12);
    }

    [TestMethod]
    public void PercentilesInterpolateBetweenRanks()
    {
        double[] sorted = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        Assert.AreEqual(5.5, CandidateMeasurements.Percentile(sorted, 0.5), 1e-12);
        Assert.AreEqual(9.55, CandidateMeasurements.Percentile(sorted, 0.95), 1e-12);
        Assert.AreEqual(1, CandidateMeasurements.Percentile(sorted, 0), 1e-12);
    }
}
