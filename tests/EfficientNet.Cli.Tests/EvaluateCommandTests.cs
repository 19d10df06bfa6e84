namespace EfficientNet.Cli.Tests;

/// <summary><c>efficientnet evaluate</c> on damaged or unsuitable .onnx files (issue 12, item 3): exit 1 and one message
/// naming the file and what was expected, checked before any image is read.</summary>
[TestClass]
public sealed class EvaluateCommandTests
{
    [TestMethod]
    public void TruncatedAndFeaturesOnlyModelsAreRefusedNamingTheFile()
    {
        using var dir = new TemporaryDirectory();
        string features = Path.Combine(dir.Path, "features.onnx"), cut = Path.Combine(dir.Path, "cut.onnx");
        var export = CliRunner.Run("export", "--variant", "b0", "--weights", Fixtures.Generated("b0.torchvision.pth"), "--features-only", "--output", features);
        Assert.AreEqual(0, export.ExitCode, export.Error);
        byte[] bytes = File.ReadAllBytes(features);
        File.WriteAllBytes(cut, bytes[..(bytes.Length / 2)]);

        var truncated = CliRunner.Run("evaluate", "--model", cut, "--data", dir.Path);
        Assert.AreEqual(1, truncated.ExitCode, truncated.Output + truncated.Error);
        StringAssert.Contains(truncated.Error + truncated.Output, $"'{cut}' is not a readable ONNX model");

        var featuresOnly = CliRunner.Run("evaluate", "--model", features, "--data", dir.Path);
        Assert.AreEqual(1, featuresOnly.ExitCode, featuresOnly.Output + featuresOnly.Error);
        StringAssert.Contains(featuresOnly.Error + featuresOnly.Output, "has outputs [features] but no 'logits' output");
    }
}
