using EfficientNet.Training.Modules;
using EfficientNet.Training.Weights;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Weights;
using static TorchSharp.torch;

namespace EfficientNet.Training.Tests.Modules;

/// <summary>
/// Each fixture checkpoint (seeded torchvision weights with randomised batch norm; lukemelas/timm renamings whose
/// references were computed with SAME padding and eps 1e-3) is imported, and the TorchSharp logits and pooled
/// features are compared with torchvision's under <see cref="Parity"/>'s tolerance.
/// </summary>
[TestClass]
public sealed class TorchvisionParityTests
{
    public TestContext TestContext { get; set; } = null!;

    public static IEnumerable<object[]> Cases => Fixtures.CaseData;

    [TestMethod]
    [DynamicData(nameof(Cases))]
    public void LogitsAndFeaturesMatchTorchvision(string variant, string format, string weights, string io, int resolution)
    {
        var checkpoint = EfficientNetCheckpoint.Load(Fixtures.Generated(weights), EfficientNetVariant.Parse(variant));
        Assert.AreEqual(WeightFormats.Parse(format), checkpoint.Source.Format, "detected format");
        var (logits, features) = Run(checkpoint, new ParityCase(variant, format, weights, io, resolution));
        var reference = new ParityCase(variant, format, weights, io, resolution).ReadIo();
        double dl = Parity.AssertClose(reference.Logits.Values, logits, $"{weights} logits");
        double df = Parity.AssertClose(reference.Features.Values, features, $"{weights} features");
        TestContext.WriteLine($"{weights} at {resolution}px: max|Δ| logits {dl:E2} ({dl / Parity.Bound(reference.Logits.Values):P0} of tolerance), " +
            $"features {df:E2} ({df / Parity.Bound(reference.Features.Values):P0})");
    }

    [TestMethod]
    public void PaddingModeIsWhatMakesTensorFlowPortsMatch()
    {
        // The same lukemelas weights computed with symmetric padding miss the SAME-padded reference by far more than the tolerance.
        var case_ = Fixtures.Cases.Single(c => c.Format == "lukemelas");
        var checkpoint = EfficientNetCheckpoint.Load(Fixtures.Generated(case_.Weights), EfficientNetVariant.Parse(case_.Variant));
        var wrong = EfficientNetCheckpoint.FromCanonical(checkpoint.Spec, checkpoint.Weights, checkpoint.Source with { Padding = PaddingMode.Symmetric });
        var (logits, features) = Run(wrong, case_);
        var reference = case_.ReadIo();
        double logitRatio = Parity.MaxAbsDiff(reference.Logits.Values, logits) / Parity.Bound(reference.Logits.Values);
        double featureRatio = Parity.MaxAbsDiff(reference.Features.Values, features) / Parity.Bound(reference.Features.Values);
        TestContext.WriteLine($"symmetric padding on SAME weights: logits {logitRatio:F1}x, features {featureRatio:F1}x the tolerance");
        Assert.IsTrue(logitRatio > 3 && featureRatio > 3, $"logits {logitRatio:F1}x, features {featureRatio:F1}x");
    }

    private static (float[] Logits, float[] Features) Run(EfficientNetCheckpoint checkpoint, ParityCase c)
    {
        using var model = ModelWeights.CreateModel(checkpoint);
        model.eval();
        var input = c.ReadIo().Input;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var x = tensor(input.Values, input.Shape);
        var features = model.PooledFeatures(x);
        var logits = model.forward(x);
        return (logits.data<float>().ToArray(), features.data<float>().ToArray());
    }
}
