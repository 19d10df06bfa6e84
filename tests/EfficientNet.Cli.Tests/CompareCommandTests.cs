using System.Text.Json;
using SkiaSharp;

namespace EfficientNet.Cli.Tests;

/// <summary>
/// The compare command's contract: results.json field names and types (other tooling reads them), results.csv's header,
/// plots that open, report.html linking them, the Recommended: line, and a resumed comparison. Tiny data: three
/// Fashion-MNIST classes × 20 images (40 for the chance test) at 32 px, one epoch from scratch; so few steps leave every
/// model at chance, which the comparison must say instead of recommending one.
/// </summary>
[TestClass]
public sealed class CompareCommandTests
{
    private static readonly string[] NumberFields =
        ["accuracy", "accuracy_ci_low", "accuracy_ci_high", "chance_accuracy", "macro_f1", "params", "macs", "latency_ms", "latency_p95_ms", "throughput", "train_seconds", "onnx_bytes", "peak_memory_mb"];

    private static string[] Args(string output, string variants, params string[] extra) => Args(output, variants, 20, extra);

    private static string[] Args(string output, string variants, int perClass, params string[] extra) =>
    [
        "compare", "--data", "fashion-mnist", "--classes", "1,8,0", "--per-class", perClass.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--variants", variants, "--strategy", "fine-tune", "--from-scratch", "--epochs", "1", "--image-size", "32", "--batch-size", "8", "--augment", "shift", "--mean", "0.286", "--std", "0.353", "--crop-fraction", "1",
        "--lr", "3e-3", "--seed", "3", "--output", output, .. extra,
    ];

    /// <summary>One RFC 4180 line's cells (the violations cell is quoted: it holds commas).</summary>
    private static List<string> CsvCells(string line)
    {
        var cells = new List<string>();
        var cell = new System.Text.StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char ch = line[i];
            if (quoted && ch == '"' && i + 1 < line.Length && line[i + 1] == '"') { cell.Append('"'); i++; }
            else if (ch == '"') quoted = !quoted;
            else if (ch == ',' && !quoted) { cells.Add(cell.ToString()); cell.Clear(); }
            else cell.Append(ch);
        }
        cells.Add(cell.ToString());
        return cells;
    }

    private static JsonElement[] Rows(string output)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "results.json")));
        return json.RootElement.EnumerateArray().Select(e => e.Clone()).ToArray();
    }

    [TestMethod]
    public void FromScratchOnFortyImagesAClassCompareWritesTheIntervalsAndRecommendsNone()
    {
        using var dir = new TemporaryDirectory();
        string output = Path.Combine(dir.Path, "compare");
        // Only the tiny custom variant has fewer than a million parameters, but neither learns beyond chance in one epoch
        // from scratch, so neither is recommended, constraint or not.
        var run = CliRunner.Run(Args(output, "b0,w0.25-d0.25-r32", 40, "--max-params", "1M"));
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
            // 24 held-out images, 8 a class: the interval is Wilson's for the count right, chance one in three, in percent.
            long correct = (long)Math.Round(accuracy * 24 / 100);
            var (low, high) = Microsoft.ML.EfficientNet.Evaluation.ChanceAssessment.WilsonInterval(correct, 24);
            Assert.AreEqual(100 * low, row.GetProperty("accuracy_ci_low").GetDouble(), 1e-9);
            Assert.AreEqual(100 * high, row.GetProperty("accuracy_ci_high").GetDouble(), 1e-9);
            Assert.AreEqual(100.0 / 3, row.GetProperty("chance_accuracy").GetDouble(), 1e-9);
            Assert.IsTrue(row.GetProperty("accuracy_ci_low").GetDouble() <= 100.0 / 3, $"{row.GetProperty("variant")} learned beyond chance: {accuracy} %");
            Assert.IsFalse(row.GetProperty("recommended").GetBoolean());
            Assert.AreEqual(JsonValueKind.Null, row.GetProperty("top5").ValueKind, "three classes: no top-5");
            Assert.IsTrue(row.GetProperty("latency_p95_ms").GetDouble() >= row.GetProperty("latency_ms").GetDouble());
            string model = row.GetProperty("model").GetString()!;
            Assert.AreEqual(new FileInfo(model).Length, row.GetProperty("onnx_bytes").GetInt64());
        }
        Assert.AreEqual(4_011_391, rows[0].GetProperty("params").GetInt64()); // B0 with a 3-class head
        Assert.IsFalse(rows[0].GetProperty("meets_constraints").GetBoolean());
        Assert.IsTrue(rows[1].GetProperty("meets_constraints").GetBoolean());

        var csv = File.ReadAllLines(Path.Combine(output, "results.csv"));
        string[] header = csv[0].Split(',');
        StringAssert.StartsWith(csv[0], "variant,status,error,strategy,image_size");
        foreach (string field in NumberFields) CollectionAssert.Contains(header, field);
        Assert.AreEqual(3, csv.Length);
        foreach (var (line, row) in csv.Skip(1).Zip(rows))
        {
            var cells = CsvCells(line);
            foreach (string field in (string[])["accuracy_ci_low", "accuracy_ci_high", "chance_accuracy"])
                Assert.AreEqual(row.GetProperty(field).GetDouble(), double.Parse(cells[Array.IndexOf(header, field)], System.Globalization.CultureInfo.InvariantCulture), 1e-9, field);
            Assert.AreEqual(header.Length, cells.Count, line);
            Assert.AreEqual("false", cells[Array.IndexOf(header, "recommended")]);
        }

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
        StringAssert.Contains(html, "Recommended: none — no candidate learned beyond chance (33.33 %)");

        var recommended = run.Output.Split('\n').Single(l => l.StartsWith("Recommended:", StringComparison.Ordinal));
        StringAssert.StartsWith(recommended, "Recommended: none — no candidate learned beyond chance (33.33 %): the 95 % intervals of all 2 reach it; the most accurate is ");
        StringAssert.Contains(recommended, "Likely cause: trained from scratch on 96 training images for 1 epoch");
        StringAssert.Contains(recommended, "What to do: start from pretrained weights");
        StringAssert.Contains(run.Output, "params M");
        StringAssert.Contains(run.Output, "95 % CI");
        Assert.IsFalse(run.Output.Contains("top-5", StringComparison.Ordinal), "three classes: no top-5 column");
        StringAssert.Contains(run.Output, "Chance (always the most frequent class of the 24 held-out images): 33.33 %");

        // The same results again, under a constraint none of them meets (100 %, the largest the flag takes): nothing is
        // retrained, and reused results are judged the same way.
        var again = CliRunner.Run(Args(output, "b0,w0.25-d0.25-r32", 40, "--min-accuracy", "100"));
        Assert.AreEqual(0, again.ExitCode, again.Output + again.Error);
        Assert.AreEqual(recommended, again.Output.Split('\n').Single(l => l.StartsWith("Recommended:", StringComparison.Ordinal)));
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
        var features = CliRunner.Run(Args(Path.Combine(dir.Path, "x"), "b0").Select(a => a == "fine-tune" ? "features" : a).ToArray());
        Assert.AreEqual(1, features.ExitCode);
        StringAssert.Contains(features.Error, "error: --from-scratch applies to --strategy fine-tune");
    }

    [TestMethod]
    public void FineTuningStartsFromPublishedWeightsAndSaysHowToDoWithout()
    {
        using var dir = new TemporaryDirectory();
        string[] pretrained(string variants) => Args(Path.Combine(dir.Path, "x"), variants).Where(a => a != "--from-scratch").ToArray();

        // A custom variant has no published weights: one line before anything trains.
        var custom = CliRunner.Run(pretrained("b0,w0.25-d0.25-r32"));
        Assert.AreEqual(1, custom.ExitCode, custom.Output + custom.Error);
        StringAssert.Contains(custom.Error, "error: No weights are published for w0.25-d0.25-r32 to fine-tune from; add --from-scratch");

        // B0's weights missing from an empty cache, with the network out of reach (a proxy that refuses connections): the
        // error names the address, the path to put the file at, and --from-scratch.
        string cache = Path.Combine(dir.Path, "empty-cache");
        var offline = ProcessRunner.RunDotnet(CliRunner.Assembly, pretrained("b0"), environment: new Dictionary<string, string>
        {
            ["EFFICIENTNETML_CACHE"] = cache, ["HTTPS_PROXY"] = "http://127.0.0.1:9", ["HTTP_PROXY"] = "http://127.0.0.1:9", ["NO_PROXY"] = "", ["no_proxy"] = "",
        });
        Assert.AreEqual(1, offline.ExitCode, offline.Output + offline.Error);
        StringAssert.Contains(offline.Error, "https://download.pytorch.org/models/efficientnet_b0_rwightman-7f5810bc.pth");
        StringAssert.Contains(offline.Error, $"put it at {Path.Combine(cache, "efficientnet_b0_rwightman-7f5810bc.pth")}");
        StringAssert.Contains(offline.Error, "Or add --from-scratch");
        Assert.IsFalse(Directory.Exists(Path.Combine(dir.Path, "x", "b0")), "nothing trained");
    }
}
