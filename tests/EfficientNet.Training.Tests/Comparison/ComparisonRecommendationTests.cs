using EfficientNet.Training.Comparison;
using Microsoft.ML.EfficientNet.Architecture;

namespace EfficientNet.Training.Tests.Comparison;

/// <summary>The recommendation rule, the Pareto front, macro-F1 and percentiles on synthetic numbers.</summary>
[TestClass]
public sealed class ComparisonRecommendationTests
{
    private static CandidateResult Result(string name, double accuracy, long parameters, double latency, long bytes = 1_000_000,
        CandidateStatus status = CandidateStatus.Succeeded, double macroF1 = double.NaN) => new()
    {
        Name = name,
        Variant = EfficientNetVariant.B0,
        Strategy = ComparisonStrategy.FineTune,
        Status = status,
        Error = status == CandidateStatus.Succeeded ? null : "OutOfMemoryException: out of memory",
        ImageSize = 32,
        Classes = 3,
        Accuracy = status == CandidateStatus.Succeeded ? accuracy : double.NaN,
        MacroF1 = macroF1,
        Parameters = parameters,
        Macs = parameters * 2,
        OnnxBytes = bytes,
        LatencyMilliseconds = latency,
    };

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
