using System.Text.Json;
using SkiaSharp;

namespace EfficientNet.Cli.Tests;

/// <summary>
/// The compare command's contract: results.json field names and types (other tooling reads them), results.csv's header,
/// plots that open, report.html linking them, the Recommended: line, and a resumed comparison. Tiny data: three
/// Fashion-MNIST classes × 20 images at 32 px, one epoch.
/// </summary>
[TestClass]
public sealed class CompareCommandTests
{
    private static readonly string[] NumberFields =
        ["accuracy", "macro_f1", "params", "macs", "latency_ms", "latency_p95_ms", "throughput", "train_seconds", "onnx_bytes", "peak_memory_mb"];

    private static string[] Args(string output, string variants, params string[] extra) =>
    [
        "compare", "--data", "fashion-mnist", "--classes", "1,8,0", "--per-class", "20", "--variants", variants, "--strategy", "fine-tune",
        "--epochs", "1", "--image-size", "32", "--batch-size", "8", "--augment", "shift", "--mean", "0.286", "--std", "0.353", "--crop-fraction", "1",
        "--lr", "3e-3", "--seed", "3", "--output", output, .. extra,
    ];

    private static JsonElement[] Rows(string output)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "results.json")));
        return json.RootElement.EnumerateArray().Select(e => e.Clone()).ToArray();
    }

    [TestMethod]
    public void CompareWritesTheResultsThePlotsTheReportAndTheRecommendation()
    {
        using var dir = new TemporaryDirectory();
        string output = Path.Combine(dir.Path, "compare");
        // Only the tiny custom variant has fewer than a million parameters, so it is the recommendation whatever the accuracies.
        var run = CliRunner.Run(Args(output, "b0,w0.25-d0.25-r32", "--max-params", "1M"));
        Assert.AreEqual(0, run.ExitCode, run.Output + run.Error);

        var rows = Rows(output);
        Assert.AreEqual(2, rows.Length);
        CollectionAssert.AreEqual(new[] { "b0", "w0.25-d0.25-r32" }, rows.Select(r => r.GetProperty("variant").GetString()).ToArray());
        foreach (var row in rows)
        {
            Assert.AreEqual("succeeded", row.GetProperty("status").GetString());
            foreach (string field in NumberFields)
                Assert.AreEqual(JsonValueKind.Number, row.GetProperty(field).ValueKind, field);
            double accuracy = row.GetProperty("accuracy").GetDouble();
            Assert.IsTrue(accuracy is >= 0 and <= 100, $"accuracy {accuracy} is a percentage");
            Assert.IsTrue(row.GetProperty("latency_p95_ms").GetDouble() >= row.GetProperty("latency_ms").GetDouble());
            string model = row.GetProperty("model").GetString()!;
            Assert.AreEqual(new FileInfo(model).Length, row.GetProperty("onnx_bytes").GetInt64());
        }
        Assert.AreEqual(4_011_391, rows[0].GetProperty("params").GetInt64()); // B0 with a 3-class head
        Assert.IsFalse(rows[0].GetProperty("meets_constraints").GetBoolean());
        Assert.IsTrue(rows[1].GetProperty("meets_constraints").GetBoolean());
        Assert.IsTrue(rows[1].GetProperty("recommended").GetBoolean());

        string header = File.ReadLines(Path.Combine(output, "results.csv")).First();
        StringAssert.StartsWith(header, "variant,status,error,strategy,image_size");
        foreach (string field in NumberFields) CollectionAssert.Contains(header.Split(','), field);
        Assert.AreEqual(3, File.ReadAllLines(Path.Combine(output, "results.csv")).Length);

        string html = File.ReadAllText(Path.Combine(output, "report.html"));
        foreach (string plot in (string[])["accuracy_vs_params.png", "accuracy_vs_macs.png", "accuracy_vs_latency.png"])
        {
            string path = Path.Combine(output, plot);
            Assert.IsTrue(new FileInfo(path).Length > 10_000, $"{plot} has content");
            using var bitmap = SKBitmap.Decode(path);
            Assert.IsNotNull(bitmap, $"{plot} decodes");
            Assert.AreEqual((1000, 640), (bitmap.Width, bitmap.Height));
            StringAssert.Contains(html, $"<img src=\"{plot}\"");
        }
        StringAssert.Contains(html, "Recommended: w0.25-d0.25-r32");

        var recommended = run.Output.Split('\n').Single(l => l.StartsWith("Recommended:", StringComparison.Ordinal));
        StringAssert.StartsWith(recommended, "Recommended: w0.25-d0.25-r32 (accuracy ");
        StringAssert.Contains(recommended, "meeting the constraints");
        StringAssert.Contains(run.Output, "params M");

        // The same results under a constraint nobody meets: nothing is retrained, and the line says why.
        var none = CliRunner.Run(Args(output, "b0,w0.25-d0.25-r32", "--min-accuracy", "101"));
        Assert.AreEqual(0, none.ExitCode, none.Output + none.Error);
        var line = none.Output.Split('\n').Single(l => l.StartsWith("Recommended:", StringComparison.Ordinal));
        StringAssert.StartsWith(line, "Recommended: none — no candidate meets the constraints: b0 accuracy ");
        StringAssert.Contains(line, "< 101 %");
        Assert.IsTrue(Rows(output).All(r => r.GetProperty("reused").GetBoolean()));
    }

    [TestMethod]
    public void AnExtendedComparisonReusesFinishedCandidatesAndTrainsOnlyTheNewOne()
    {
        using var dir = new TemporaryDirectory();
        string output = Path.Combine(dir.Path, "compare");
        var first = CliRunner.Run(Args(output, "w0.25-d0.25-r32"));
        Assert.AreEqual(0, first.ExitCode, first.Output + first.Error);
        string finished = Rows(output)[0].GetProperty("finished_utc").GetString()!;

        var extended = CliRunner.Run(Args(output, "w0.25-d0.25-r32,w0.25-d0.5-r32"));
        Assert.AreEqual(0, extended.ExitCode, extended.Output + extended.Error);
        StringAssert.Contains(extended.Output, "[1/2] w0.25-d0.25-r32: succeeded");
        StringAssert.Contains(extended.Output, "(reused: same settings and data)");
        var rows = Rows(output);
        Assert.AreEqual(2, rows.Length);
        Assert.IsTrue(rows[0].GetProperty("reused").GetBoolean());
        Assert.AreEqual(finished, rows[0].GetProperty("finished_utc").GetString(), "not retrained");
        Assert.IsFalse(rows[1].GetProperty("reused").GetBoolean());
        Assert.AreEqual("succeeded", rows[1].GetProperty("status").GetString());
        // The reused candidate trained once: its run folder has one epoch's log line in the first run only.
        Assert.AreEqual(1, System.Text.RegularExpressions.Regex.Matches(first.Output + extended.Output, @"w0\.25-d0\.25-r32: fine-tune at 32 px").Count);
    }

    [TestMethod]
    public void AScalingStudyPlotsAccuracyAgainstMacsPerStrategy()
    {
        using var dir = new TemporaryDirectory();
        string output = Path.Combine(dir.Path, "scaling");
        var run = CliRunner.Run(Args(output, "", "--scaling", "width,resolution", "--scaling-factors", "2"));
        Assert.AreEqual(0, run.ExitCode, run.Output + run.Error);
        var rows = Rows(output);
        CollectionAssert.AreEqual(new[] { "b0", "width-2x", "resolution-2x" }, rows.Select(r => r.GetProperty("variant").GetString()).ToArray());
        Assert.AreEqual("resolution", rows[2].GetProperty("scaling").GetString());
        double ratio = rows[1].GetProperty("macs").GetDouble() / rows[0].GetProperty("macs").GetDouble();
        Assert.AreEqual(2, ratio, 0.4, $"width-2x has {ratio:F2}× B0's MACs");
        Assert.IsTrue(rows[2].GetProperty("image_size").GetInt32() > 32, "resolution scaling trains at a larger size");
        using var plot = SKBitmap.Decode(Path.Combine(output, "scaling.png"));
        Assert.IsNotNull(plot);
        StringAssert.Contains(File.ReadAllText(Path.Combine(output, "report.html")), "<img src=\"scaling.png\"");
    }

    [TestMethod]
    public void BadArgumentsAreOneClearLine()
    {
        using var dir = new TemporaryDirectory();
        var unknown = CliRunner.Run(Args(Path.Combine(dir.Path, "x"), "b9"));
        Assert.AreEqual(1, unknown.ExitCode);
        StringAssert.Contains(unknown.Error, "error: Unknown variant 'b9'");
        var duration = CliRunner.Run(Args(Path.Combine(dir.Path, "x"), "b0", "--time-per-variant", "soon"));
        Assert.AreEqual(1, duration.ExitCode);
        StringAssert.Contains(duration.Error, "--time-per-variant 'soon' is not a duration");
    }
}
