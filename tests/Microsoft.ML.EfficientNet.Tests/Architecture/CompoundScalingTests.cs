using Microsoft.ML.EfficientNet.Architecture;

namespace Microsoft.ML.EfficientNet.Tests.Architecture;

[TestClass]
public sealed class CompoundScalingTests
{
    [TestMethod]
    public void RoundFiltersAppliesTheTenPercentRule()
    {
        // B3 (w 1.2): 16·1.2 = 19.2 → 16 is more than 10 % below, so 24.
        Assert.AreEqual(24, CompoundScaling.RoundFilters(16, 1.2));
        Assert.AreEqual(40, CompoundScaling.RoundFilters(32, 1.2));
        Assert.AreEqual(88, CompoundScaling.RoundFilters(80, 1.1));
        Assert.AreEqual(8, CompoundScaling.RoundFilters(3, 1.0));
        Assert.AreEqual(2560, CompoundScaling.RoundFilters(1280, 2.0));
    }

    [TestMethod]
    public void RoundRepeatsRoundsUp()
    {
        Assert.AreEqual(3, CompoundScaling.RoundRepeats(2, 1.1));
        Assert.AreEqual(4, CompoundScaling.RoundRepeats(1, 3.1));
        Assert.AreEqual(1, CompoundScaling.RoundRepeats(1, 1.0));
    }

    [TestMethod]
    public void CoefficientsSatisfyTheFlopsConstraint()
    {
        double product = CompoundScaling.Alpha * CompoundScaling.Beta * CompoundScaling.Beta * CompoundScaling.Gamma * CompoundScaling.Gamma;
        Assert.AreEqual(2.0, product, 0.1);
    }

    [TestMethod]
    public void PhiZeroIsB0()
    {
        var v = EfficientNetVariant.FromPhi(0);
        Assert.AreEqual(1.0, v.WidthMultiplier);
        Assert.AreEqual(1.0, v.DepthMultiplier);
        Assert.AreEqual(224, v.Resolution);
        Assert.AreEqual(0.2, v.Dropout);
        Assert.AreEqual(EfficientNetSpec.Create("b0").ParameterCount, EfficientNetSpec.Create(v).ParameterCount);
    }

    [TestMethod]
    public void FlopsRoughlyDoublePerUnitOfPhi()
    {
        // α·β²·γ² = 1.92, so MACs should grow by about 2^φ. Ceil-rounding of one-block stages inflates single steps
        // (φ 0→1 is ×2.6), so the test takes the geometric mean growth over eight units.
        double b0 = EfficientNetSpec.Create(EfficientNetVariant.FromPhi(0)).MultiplyAccumulates();
        double phi8 = EfficientNetSpec.Create(EfficientNetVariant.FromPhi(8)).MultiplyAccumulates();
        double perUnit = Math.Pow(phi8 / b0, 1.0 / 8);
        Assert.IsTrue(perUnit > 1.85 && perUnit < 2.15, $"×{perUnit:F3} per unit of φ");
    }

    [TestMethod]
    public void DropoutRuleReproducesThePublishedValues()
    {
        for (int phi = 0; phi < 8; phi++)
            Assert.AreEqual(EfficientNetVariant.Published[phi].Dropout, CompoundScaling.Dropout(phi), 1e-12, $"φ {phi}");
    }

    [TestMethod]
    public void CustomPhiHasAName()
    {
        var v = EfficientNetVariant.FromPhi(2.5);
        Assert.AreEqual("phi-2.5", v.Name);
        Assert.AreEqual(Math.Pow(1.1, 2.5), v.WidthMultiplier, 1e-12);
        Assert.AreEqual(Math.Pow(1.2, 2.5), v.DepthMultiplier, 1e-12);
        Assert.AreEqual(318, v.Resolution); // 224 · 1.15^2.5 = 317.68
    }

    [TestMethod]
    public void ParseAcceptsCommonSpellingsAndListsValidNames()
    {
        Assert.AreSame(EfficientNetVariant.B4, EfficientNetVariant.Parse("B4"));
        Assert.AreSame(EfficientNetVariant.B4, EfficientNetVariant.Parse("efficientnet-b4"));
        Assert.AreSame(EfficientNetVariant.B4, EfficientNetVariant.Parse("tf_efficientnet_b4"));
        var error = Assert.ThrowsExactly<ArgumentException>(() => EfficientNetVariant.Parse("b9"));
        StringAssert.Contains(error.Message, "'b9'");
        StringAssert.Contains(error.Message, "b0, b1, b2, b3, b4, b5, b6, b7");
    }

    [TestMethod]
    public void SamePaddingPutsTheOddPixelAfter()
    {
        Assert.AreEqual((0, 1), ConvPadding.Compute(PaddingMode.TensorFlowSame, 224, 3, 2));
        Assert.AreEqual((1, 2), ConvPadding.Compute(PaddingMode.TensorFlowSame, 56, 5, 2));
        Assert.AreEqual((1, 1), ConvPadding.Compute(PaddingMode.TensorFlowSame, 225, 3, 2));
        Assert.AreEqual((2, 2), ConvPadding.Compute(PaddingMode.TensorFlowSame, 56, 5, 1));
        Assert.AreEqual((1, 1), ConvPadding.Compute(PaddingMode.Symmetric, 224, 3, 2));
        Assert.AreEqual(112, ConvPadding.OutputSize(PaddingMode.TensorFlowSame, 224, 3, 2));
        Assert.AreEqual(112, ConvPadding.OutputSize(PaddingMode.Symmetric, 224, 3, 2));
    }
}
