using Microsoft.ML.EfficientNet.Onnx;
using Microsoft.ML.OnnxRuntime;

namespace EfficientNet.Cli.Tests;

[TestClass]
public sealed class ExportCommandTests
{
    [TestMethod]
    public void BareExportHasExactlyOneNormalisedInputAndOneLogitsOutput()
    {
        using var dir = new TemporaryDirectory();
        string model = Path.Combine(dir.Path, "b0.onnx");
        var result = CliRunner.Run("export", "--variant", "b0", "--weights", Fixtures.Generated("b0.torchvision.pth"), "--bare", "--output", model);
        Assert.AreEqual(0, result.ExitCode, result.Error);

        using var session = new InferenceSession(model);
        var input = session.InputMetadata.Single();
        Assert.AreEqual("input", input.Key);
        CollectionAssert.AreEqual(new[] { -1, 3, 224, 224 }, input.Value.Dimensions);
        Assert.AreEqual(typeof(float), input.Value.ElementType);
        var output = session.OutputMetadata.Single();
        Assert.AreEqual("logits", output.Key);
        CollectionAssert.AreEqual(new[] { -1, 1000 }, output.Value.Dimensions);

        var c = Fixtures.Cases.Single(x => x.Weights == "b0.torchvision.pth");
        var (x, logits, _) = c.ReadIo();
        Parity.AssertClose(logits.Values, OnnxRunner.Run(File.ReadAllBytes(model), "input", x.Values, x.Shape)["logits"], "exported logits");
    }

    [TestMethod]
    public void BareV2ExportMatchesTorchvision()
    {
        using var dir = new TemporaryDirectory();
        string model = Path.Combine(dir.Path, "v2-s.onnx");
        var c = Fixtures.Cases.Single(x => x.Weights == "v2-s.torchvision.pth");
        var result = CliRunner.Run("export", "--variant", "v2-s", "--weights", Fixtures.Generated(c.Weights), "--bare",
            "--resolution", c.Resolution.ToString(System.Globalization.CultureInfo.InvariantCulture), "--output", model);
        Assert.AreEqual(0, result.ExitCode, result.Error);
        using (var session = new InferenceSession(model))
        {
            CollectionAssert.AreEqual(new[] { -1, 3, c.Resolution, c.Resolution }, session.InputMetadata.Single().Value.Dimensions);
            Assert.AreEqual("logits", session.OutputMetadata.Single().Key);
        }
        Assert.AreEqual("v2-s", OnnxModelMetadata.Read(model).Variant);
        var (x, logits, _) = c.ReadIo();
        Parity.AssertClose(logits.Values, OnnxRunner.Run(File.ReadAllBytes(model), "input", x.Values, x.Shape)["logits"], "exported V2-S logits");
    }

    [TestMethod]
    public void VariantFormatAndResolutionAreHonoured()
    {
        using var dir = new TemporaryDirectory();
        string model = Path.Combine(dir.Path, "b3.onnx");
        // No --variant: identified from the shapes. Format named explicitly; reduced resolution; both outputs.
        var result = CliRunner.Run("export", "--weights", Fixtures.Generated("tf_efficientnet_b3.safetensors"), "--format", "timm-tf",
            "--resolution", "96", "--features", "--bare", "--output", model);
        Assert.AreNotEqual(0, result.ExitCode, "--bare with --features is refused");
        StringAssert.Contains(result.Error, "exactly one output");

        result = CliRunner.Run("export", "--weights", Fixtures.Generated("tf_efficientnet_b3.safetensors"), "--format", "timm-tf",
            "--resolution", "96", "--features", "--output", model);
        Assert.AreEqual(0, result.ExitCode, result.Error);
        var metadata = OnnxModelMetadata.Read(model);
        Assert.AreEqual("b3", metadata.Variant);
        Assert.AreEqual(96, metadata.Resolution);
        Assert.AreEqual("timm-tf", metadata.WeightSource);
        using var session = new InferenceSession(model);
        CollectionAssert.AreEquivalent(new[] { "logits", "features" }, session.OutputMetadata.Keys.ToArray());
    }

    [TestMethod]
    public void FeaturesOnlyIgnoresTheClassifierAndLabelsAreRecorded()
    {
        using var dir = new TemporaryDirectory();
        string labels = Path.Combine(dir.Path, "labels.txt");
        File.WriteAllLines(labels, Enumerable.Range(0, 1000).Select(i => $"label {i}"));
        string model = Path.Combine(dir.Path, "b0-labels.onnx");
        var result = CliRunner.Run("export", "--weights", Fixtures.Generated("b0.lukemelas.pth"), "--labels", labels, "--output", model);
        Assert.AreEqual(0, result.ExitCode, result.Error);
        Assert.AreEqual("label 999", OnnxModelMetadata.Read(model).Labels![999]);

        string features = Path.Combine(dir.Path, "b0-features.onnx");
        result = CliRunner.Run("export", "--weights", Fixtures.Generated("b0.torchvision.pth"), "--classes", "10", "--features-only", "--output", features);
        Assert.AreEqual(0, result.ExitCode, result.Error);
        using var session = new InferenceSession(features);
        Assert.AreEqual("features", session.OutputMetadata.Single().Key);
    }

    [TestMethod]
    public void MismatchedCheckpointIsOneClearLine()
    {
        using var dir = new TemporaryDirectory();
        var result = CliRunner.Run("export", "--variant", "b0", "--weights", Fixtures.Generated("b3.torchvision.pth"), "--output", Path.Combine(dir.Path, "x.onnx"));
        Assert.AreEqual(1, result.ExitCode);
        StringAssert.StartsWith(result.Error, "error: Checkpoint");
        StringAssert.Contains(result.Error, "it holds EfficientNet-b3 weights");
        StringAssert.Contains(result.Error, "'features.0.0.weight' expected [32, 3, 3, 3], checkpoint has [40, 3, 3, 3]");
        Assert.IsFalse(File.Exists(Path.Combine(dir.Path, "x.onnx")));

        result = CliRunner.Run("export", "--weights", Fixtures.Generated("b0.torchvision.pth"), "--classes", "10", "--output", Path.Combine(dir.Path, "y.onnx"));
        Assert.AreEqual(1, result.ExitCode);
        StringAssert.Contains(result.Error, "1000 classes but 10 were asked for");
    }
}
