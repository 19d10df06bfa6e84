using System.Text.Json;

namespace EfficientNet.Cli.Tests;

/// <summary>
/// <c>efficientnet bench</c> on a tiny setting: the tables, the markdown section and the JSON fields exist and every figure
/// is finite and positive. No timing is asserted (benchmarks are never timed tests).
/// </summary>
[TestClass]
public sealed class BenchCommandTests
{
    [TestMethod]
    public void TinyBenchWritesTheTablesTheSectionAndTheJson()
    {
        using var dir = new TemporaryDirectory();
        string markdown = Path.Combine(dir.Path, "BENCHMARKS.md");
        File.WriteAllText(markdown, "# Benchmarks\n\nolder text stays; it quotes `<!-- bench:begin -->` and `<!-- bench:end -->`\n\n<!-- bench:begin -->\nstale\n<!-- bench:end -->\n\ntail stays\n");
        string json = Path.Combine(dir.Path, "bench.json");
        var result = CliRunner.Run("bench", "--count", "8", "--runs", "1", "--variants", "b0", "--resolution", "64",
            "--generated-images", Path.Combine(dir.Path, "images"), "--output", markdown, "--json", json);
        Assert.AreEqual(0, result.ExitCode, result.Error + result.Output);
        foreach (string expected in (string[])["featurizer fp32", "featurizer int8", "plain ML.NET chain", "raw ONNX Runtime", "DnnFeaturizeImage", "per variant", "ONNX Runtime"])
            Assert.Contains(expected, result.Output, expected);

        string text = File.ReadAllText(markdown);
        Assert.Contains("older text stays", text);
        Assert.Contains("tail stays", text);
        Assert.DoesNotContain("stale", text);
        Assert.Contains("older text stays; it quotes `<!-- bench:begin -->` and `<!-- bench:end -->`", text);
        Assert.AreEqual(1, text.Split("\n<!-- bench:begin -->\n").Length - 1, "one section");
        foreach (string expected in (string[])["| what | setting | images/s |", "| ratio of | vs | ratio |", "| featurizer int8 (best) | featurizer fp32 (best) |", "| variant | px |", "| operator | fp32 ms | int8 ms |", "efficientnet bench --count 8"])
            Assert.Contains(expected, text, expected);

        using var report = JsonDocument.Parse(File.ReadAllText(json));
        var root = report.RootElement;
        foreach (string field in (string[])["command", "machine", "rows", "ratios", "split", "startup", "variants", "kernels"])
            Assert.IsTrue(root.TryGetProperty(field, out _), field);
        foreach (string field in (string[])["cpu", "cores", "os", "dotnet", "onnxRuntime"])
            Assert.IsFalse(string.IsNullOrWhiteSpace(root.GetProperty("machine").GetProperty(field).GetString()), field);
        var rows = root.GetProperty("rows").EnumerateArray().ToList();
        foreach (string group in (string[])["featurizer fp32", "featurizer int8", "plain ML.NET chain", "raw ONNX Runtime, prepared pixels", "raw ONNX Runtime int8, prepared pixels", "DnnFeaturizeImage ResNet18"])
            Assert.AreEqual(1, rows.Count(r => r.GetProperty("group").GetString() == group && r.GetProperty("best").GetBoolean()), group);
        // Debian's python3-torch is installed by scripts/setup.sh, so the graph-against-graph rows and PyTorch eager are there.
        foreach (string group in (string[])["our --bare ONNX, normalised pixels", "torch.onnx.export's ONNX, normalised pixels", "PyTorch eager, random input", "TorchSharp eager, random input"])
            Assert.AreEqual(1, rows.Count(r => r.GetProperty("group").GetString() == group && r.GetProperty("best").GetBoolean()), group);
        Assert.IsTrue(root.GetProperty("ratios").EnumerateArray().Any(r => r.GetProperty("against").GetString() == "torch.onnx.export's ONNX, normalised pixels (best)"));
        foreach (var row in rows) AssertPositive(row.GetProperty("imagesPerSecond"), "imagesPerSecond");
        foreach (var ratio in root.GetProperty("ratios").EnumerateArray()) AssertPositive(ratio.GetProperty("value"), "ratio");
        foreach (string field in (string[])["preprocessingMs", "inferenceMs", "ceilingImagesPerSecond"]) AssertPositive(root.GetProperty("split").GetProperty(field), field);
        // The steps of the preprocessing are differences of timed prefixes: finite, and decode (timed alone) positive.
        AssertPositive(root.GetProperty("split").GetProperty("decodeMs"), "decodeMs");
        foreach (string field in (string[])["resizeMs", "extractMs"]) Assert.IsTrue(double.IsFinite(root.GetProperty("split").GetProperty(field).GetDouble()), field);
        foreach (string field in (string[])["firstFitMs", "firstFeatureMs", "diskFitMs", "diskFeatureMs", "secondFitMs", "secondFeatureMs"]) AssertPositive(root.GetProperty("startup").GetProperty(field), field);
        var kernels = root.GetProperty("kernels").EnumerateArray().ToList();
        Assert.IsTrue(kernels.Any(k => k.GetProperty("model").GetString() == "fp32" && k.GetProperty("operator").GetString() == "Conv"), "fp32 Conv kernel time");
        Assert.IsTrue(kernels.Any(k => k.GetProperty("model").GetString() == "int8" && k.GetProperty("operator").GetString() == "QLinearConv"), "int8 QLinearConv kernel time");
        foreach (var kernel in kernels) AssertPositive(kernel.GetProperty("millisecondsPerBatch"), "kernel ms");
        var variant = root.GetProperty("variants").EnumerateArray().Single();
        Assert.AreEqual("b0", variant.GetProperty("variant").GetString());
        Assert.AreEqual(64, variant.GetProperty("resolution").GetInt32());
        foreach (string field in (string[])["imagesPerSecond", "latencyP50Ms", "latencyP95Ms", "modelMB", "peakRssMB"]) AssertPositive(variant.GetProperty(field), field);
        Assert.AreEqual(8, Directory.GetFiles(Path.Combine(dir.Path, "images"), "*.jpg").Length);
    }

    private static void AssertPositive(JsonElement value, string name)
    {
        double v = value.GetDouble();
        Assert.IsTrue(double.IsFinite(v) && v > 0, $"{name} = {v}");
    }
}
