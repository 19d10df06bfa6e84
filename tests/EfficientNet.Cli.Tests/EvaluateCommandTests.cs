using System.Text.Json;
using Microsoft.ML.EfficientNet.Data;

namespace EfficientNet.Cli.Tests;

[TestClass]
public sealed class EvaluateCommandTests
{
    /// <summary>
    /// Scoring an exported model needs ONNX Runtime only: <c>evaluate</c> must never load TorchSharp (and with it
    /// libtorch, hundreds of megabytes and a native-library set-up a scoring machine need not have).
    /// </summary>
    [TestMethod]
    public void EvaluatingAnOnnxFileNeverLoadsTorchSharp()
    {
        using var dir = new TemporaryDirectory();
        string images = Path.Combine(dir.Path, "images"), labels = Path.Combine(dir.Path, "labels.txt"), model = Path.Combine(dir.Path, "b0.onnx");
        FashionMnist.Load(train: false).WriteImageFolder(images, 3, [1, 8]);
        // The ImageNet classifier relabelled so that the folder's two classes are among its labels.
        File.WriteAllLines(labels, Enumerable.Range(0, 1000).Select(i => i < 10 ? FashionMnist.FolderName(i) : $"label {i}"));
        var exported = CliRunner.Run("export", "--weights", Fixtures.Generated("b0.torchvision.pth"), "--resolution", "64", "--labels", labels, "--output", model);
        Assert.AreEqual(0, exported.ExitCode, exported.Error);

        string loaded = Path.Combine(dir.Path, "assemblies.txt");
        var evaluated = ProcessRunner.RunDotnet(CliRunner.Assembly, ["evaluate", "--model", model, "--data", images, "--json"], environment: new Dictionary<string, string>
        {
            ["DOTNET_STARTUP_HOOKS"] = typeof(StartupHook).Assembly.Location,
            [StartupHook.FileVariable] = loaded,
        });
        Assert.AreEqual(0, evaluated.ExitCode, evaluated.Error);
        using var metrics = JsonDocument.Parse(evaluated.Output);
        Assert.AreEqual(6, metrics.RootElement.GetProperty("images").GetInt32());
        // A 1000-class model: top-5 measures something and is reported.
        Assert.AreEqual(JsonValueKind.Number, metrics.RootElement.GetProperty("top5").ValueKind);

        var names = File.ReadAllLines(loaded);
        // The hook saw the scoring itself, so an absent name means not loaded rather than not recorded.
        CollectionAssert.Contains(names, "Microsoft.ML.OnnxRuntime", string.Join(", ", names));
        var torch = names.Where(n => n.StartsWith("TorchSharp", StringComparison.OrdinalIgnoreCase)).ToList();
        Assert.AreEqual(0, torch.Count, $"evaluate loaded {string.Join(", ", torch)}; loaded: {string.Join(", ", names)}");
    }

    /// <summary><c>efficientnet evaluate</c> on damaged or unsuitable .onnx files: exit 1 and one message naming
    /// the file and what was expected, checked before any image is read, so a wrong file costs no time and no half-written
    /// results.</summary>
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
