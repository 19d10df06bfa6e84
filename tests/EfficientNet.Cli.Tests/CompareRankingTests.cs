using System.Text.Json;
using Microsoft.ML.EfficientNet.Weights;

namespace EfficientNet.Cli.Tests;

/// <summary>
/// <c>efficientnet compare</c> ranks candidates whose quality is known by construction. The classes are colours
/// (<see cref="ColourClasses"/>), which any network whose features depend on the image separates; one candidate has
/// torchvision's seeded B0 (its features depend on the image), the other a B1 whose head batch norm has zero scale, so
/// every image gets the same features and its classifier can only guess. The gap (all correct against one in three) is far wider than either accuracy's interval,
/// so the order holds whatever margin the recommendation rule asks for.
/// </summary>
[TestClass]
public sealed class CompareRankingTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void TheCandidateWhoseFeaturesCarryTheClassesRanksFirstAndIsRecommended()
    {
        using var dir = new TemporaryDirectory();
        string data = Path.Combine(dir.Path, "data");
        ColourClasses.Write(data, perClass: 40);
        string dead = Path.Combine(dir.Path, "b1-dead-head.safetensors");
        WriteDeadHead(Fixtures.Generated("b1.torchvision.pth"), dead);
        string output = Path.Combine(dir.Path, "compare");

        var run = CliRunner.Run("compare", "--data", data, "--variants", "b0,b1", "--strategy", "features",
            "--weights", $"b0={Fixtures.Generated("b0.torchvision.pth")},b1={dead}", "--image-size", "64", "--hold-out", "0.3", "--seed", "5", "--output", output);
        Assert.AreEqual(0, run.ExitCode, run.Output + run.Error);

        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "results.json")));
        var rows = json.RootElement.EnumerateArray().ToDictionary(r => r.GetProperty("variant").GetString()!, r => r.Clone());
        foreach (var row in rows.Values) Assert.AreEqual("succeeded", row.GetProperty("status").GetString(), row.GetProperty("error").ToString());
        double good = rows["b0"].GetProperty("accuracy").GetDouble(), blind = rows["b1"].GetProperty("accuracy").GetDouble();
        TestContext.WriteLine($"held-out accuracy: b0 {good:F2} %, b1 {blind:F2} %");
        // 36 held-out images, 12 per colour. The blind candidate's probabilities are the same for every image, so it
        // names one class for all: exactly a third. b0 measured 94.4 %; at 80 % its 95 % Wilson interval over 36 images
        // starts at 0.64, above the blind one's upper end (0.50) and above chance.
        Assert.IsTrue(good >= 80, $"b0 separates colours: accuracy {good:F1} %");
        Assert.AreEqual(100.0 / 3, blind, 1e-6, "b1 sees every image alike and scores chance");
        Assert.IsTrue(good - blind >= 45, $"b0 {good:F1} % against b1 {blind:F1} %");
        Assert.IsTrue(rows["b0"].GetProperty("recommended").GetBoolean(), "b0 is recommended");
        Assert.IsFalse(rows["b1"].GetProperty("recommended").GetBoolean(), "b1 is not");
        var recommended = run.Output.Split('\n').Single(l => l.StartsWith("Recommended:", StringComparison.Ordinal));
        StringAssert.StartsWith(recommended, "Recommended: b0 (accuracy ");
    }

    /// <summary>The checkpoint with its head batch norm's scale set to zero: its output, and so every pooled feature, is the same for every image.</summary>
    private static void WriteDeadHead(string checkpoint, string path)
    {
        var weights = StateDict.Load(checkpoint);
        string head = weights.Keys.Where(k => k.StartsWith("features.", StringComparison.Ordinal) && k.EndsWith(".1.weight", StringComparison.Ordinal))
            .OrderBy(k => int.Parse(k.Split('.')[1], System.Globalization.CultureInfo.InvariantCulture)).Last();
        Assert.AreEqual("features.8.1.weight", head, "torchvision's B1: features.8 is the head 1×1 convolution and its batch norm");
        SafeTensorsFile.Write(path, weights.Entries.Select(e => e.Key != head ? e
            : new KeyValuePair<string, WeightTensor>(e.Key, new WeightTensor(e.Value.Shape, new float[e.Value.Values.Length]))));
    }
}
