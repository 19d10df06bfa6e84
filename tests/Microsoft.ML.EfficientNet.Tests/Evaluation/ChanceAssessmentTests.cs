using Microsoft.ML.EfficientNet.Evaluation;

namespace Microsoft.ML.EfficientNet.Tests.Evaluation;

[TestClass]
public class ChanceAssessmentTests
{
    private const double Z2 = 1.959963984540054 * 1.959963984540054;

    [TestMethod]
    public void WilsonIntervalMatchesItsClosedFormsAtTheEnds()
    {
        // With no successes the Wilson interval is [0, z²/(n + z²)]; with all, [n/(n + z²), 1]: forms independent of the
        // general formula, so a wrong centre or half-width fails here.
        var (low0, high0) = ChanceAssessment.WilsonInterval(0, 10);
        Assert.AreEqual(0, low0, 1e-12);
        Assert.AreEqual(Z2 / (10 + Z2), high0, 1e-12);
        var (lowN, highN) = ChanceAssessment.WilsonInterval(40, 40);
        Assert.AreEqual(40 / (40 + Z2), lowN, 1e-12);
        Assert.AreEqual(1, highN, 1e-12);
    }

    [TestMethod]
    public void WilsonIntervalOfAThirdOnNinetyImages()
    {
        // 30 of 90 correct (three balanced classes, one class predicted): 24.5–43.6 %, from the Wilson formula,
        // centre (p + z²/2n)/(1 + z²/n) and half-width z/(1 + z²/n)·√(p(1−p)/n + z²/4n²).
        var (low, high) = ChanceAssessment.WilsonInterval(30, 90);
        Assert.AreEqual(0.2445, low, 5e-4);
        Assert.AreEqual(0.4358, high, 5e-4);
        var (l2, h2) = ChanceAssessment.WilsonInterval(45, 90);
        Assert.AreEqual(0.5, (l2 + h2) / 2, 1e-12, "a half is the interval's centre");
    }

    [TestMethod]
    public void OneClassForEveryImageIsAtChanceAndCollapsed()
    {
        var confusion = new long[3, 3];
        for (int c = 0; c < 3; c++) confusion[c, 1] = 40;
        var a = ChanceAssessment.FromConfusion(confusion);
        Assert.AreEqual(1 / 3.0, a.Accuracy, 1e-12);
        Assert.AreEqual(1 / 3.0, a.ChanceAccuracy, 1e-12);
        Assert.IsFalse(a.AboveChance);
        Assert.IsTrue(a.Collapsed);
        Assert.AreEqual(1, a.DominantClass);
        string warning = a.Warning(["a", "b", "c"], "trained from scratch on 120 images")!;
        StringAssert.Contains(warning, "33.33 %");
        StringAssert.Contains(warning, "'b' takes 100 % of the predictions");
        StringAssert.Contains(warning, "from scratch on 120 images");
        StringAssert.Contains(warning, "pretrained weights");
    }

    [TestMethod]
    public void ClearLearningIsAboveChanceAndHasNoWarning()
    {
        var confusion = new long[3, 3] { { 35, 3, 2 }, { 4, 33, 3 }, { 1, 2, 37 } };
        var a = ChanceAssessment.FromConfusion(confusion);
        Assert.AreEqual(105 / 120.0, a.Accuracy, 1e-12);
        Assert.IsTrue(a.AboveChance);
        Assert.IsFalse(a.Collapsed);
        Assert.IsNull(a.Warning(null, "unused"));
    }

    [TestMethod]
    public void AnAccuracyWhoseIntervalReachesTheMajorityRateIsNotAboveChance()
    {
        // 60 % on 30 images of a 50/50 task: the interval (42.3–75.4 %) reaches 50 %.
        var confusion = new long[2, 2] { { 9, 6 }, { 6, 9 } };
        var a = ChanceAssessment.FromConfusion(confusion);
        Assert.AreEqual(0.6, a.Accuracy, 1e-12);
        Assert.IsTrue(a.Low < 0.5);
        Assert.IsFalse(a.AboveChance);
        Assert.IsFalse(a.Collapsed);
    }

    [TestMethod]
    public void SkewedTruthIsNotCalledCollapsed()
    {
        // 95 % of the images are one class: predicting it 95 % of the time is what a good model does; the majority rate
        // (95 %) is the bar the accuracy must clear instead.
        var confusion = new long[2, 2] { { 190, 0 }, { 0, 10 } };
        var a = ChanceAssessment.FromConfusion(confusion);
        Assert.AreEqual(0.95, a.ChanceAccuracy, 1e-12);
        Assert.IsFalse(a.Collapsed);
        Assert.IsTrue(a.AboveChance);
    }

    [TestMethod]
    public void MetricsExposeTheAssessmentOfTheirConfusion()
    {
        var m = new ClassificationMetrics(2);
        m.Add([2f, 0f, 2f, 0f, 0f, 2f], [0, 1, 1]);
        var a = m.Chance();
        Assert.AreEqual(2 / 3.0, a.Accuracy, 1e-12);
        Assert.AreEqual(2 / 3.0, a.ChanceAccuracy, 1e-12);
        Assert.AreEqual(3, a.Count);
    }
}
