using System.Diagnostics;
using System.Text.Json;
using Microsoft.ML.EfficientNet.Data;
using SkiaSharp;

namespace EfficientNet.Cli.Tests;

/// <summary>
/// What an adversarial user hands the commands: outputs aimed at inputs, output folders inside the data, link cycles,
/// FIFOs, numbers out of range, damaged model metadata. Each case is refused before any work (exit code 1, one
/// <c>error:</c> line in the command line's words), bounded, or neutralised; none prints a stack trace or hangs. The
/// processes stop early or score a few 28×28 images with a tiny model, so each test takes seconds.
/// </summary>
[TestClass]
public sealed class HostileInputTests
{
    internal static void AssertRefused(ProcessRunner.Result run, params string[] expected)
    {
        Assert.AreEqual(1, run.ExitCode, run.Output + run.Error);
        Assert.IsFalse(run.Error.Contains("   at ", StringComparison.Ordinal) || run.Error.Contains("Unhandled", StringComparison.Ordinal), "no stack trace: " + run.Error);
        StringAssert.StartsWith(run.Error.Trim(), "error: ");
        foreach (string text in expected) StringAssert.Contains(run.Error, text);
    }

    private static void WritePng(string path, byte shade)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var bitmap = new SKBitmap(30, 30);
        bitmap.Erase(new SKColor(shade, (byte)(255 - shade), 90));
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(path, data.ToArray());
    }

    [TestMethod]
    public void AnOutputThatIsAnInputIsRefusedNamingBothFlagsAndTheInputIsKept()
    {
        using var dir = new TemporaryDirectory();
        string weights = Path.Combine(dir.Path, "x.pth");
        File.Copy(Fixtures.Generated("b0.torchvision.pth"), weights);
        string link = Path.Combine(dir.Path, "link.pth");
        File.CreateSymbolicLink(link, weights);
        byte[] before = File.ReadAllBytes(weights);
        // The same path, a link to it, and a path through "..".
        foreach (string output in new[] { weights, link, Path.Combine(dir.Path, "sub", "..", "x.pth") })
        {
            Directory.CreateDirectory(Path.Combine(dir.Path, "sub"));
            AssertRefused(CliRunner.Run("export", "--weights", weights, "--output", output), "--output", "is the same file as --weights", "Choose another --output");
        }
        CollectionAssert.AreEqual(before, File.ReadAllBytes(weights), "the checkpoint is untouched");

        string model = PredictCommandTests.TinyModel(Path.Combine(dir.Path, "run"));
        byte[] modelBytes = File.ReadAllBytes(model);
        string images = Path.Combine(dir.Path, "images");
        WritePng(Path.Combine(images, "a.png"), 10);
        // quantize: --output the model itself, given as the file and as its run folder.
        AssertRefused(CliRunner.Run("quantize", "--model", model, "--calibration", images, "--output", model), "--output", "is the same file as --model");
        AssertRefused(CliRunner.Run("quantize", "--model", Path.Combine(dir.Path, "run"), "--calibration", images, "--output", model), "is the same file as --model");
        // featurize and predict: --output over the weights or the image given (their names end as an output's may).
        string csvWeights = Path.Combine(dir.Path, "w.csv");
        File.Copy(weights, csvWeights);
        AssertRefused(CliRunner.Run("featurize", "--images", images, "--weights", csvWeights, "--output", csvWeights), "--output", "is the same file as --weights");
        string jsonImage = Path.Combine(dir.Path, "shot.json");
        WritePng(jsonImage, 40);
        AssertRefused(CliRunner.Run("predict", "--model", model, "--images", jsonImage, "--output", jsonImage), "is the same file as --images");
        CollectionAssert.AreEqual(before, File.ReadAllBytes(csvWeights));
        CollectionAssert.AreEqual(modelBytes, File.ReadAllBytes(model));
        CollectionAssert.AreEqual(before, File.ReadAllBytes(weights));
    }

    [TestMethod]
    [DataRow("featurize --images x --output y.csv --resolution 20000", "error: --resolution must be from 32 to 2048 pixels; got 20000.")]
    [DataRow("train --data x --output y --image-size 100000", "error: --image-size must be from 32 to 2048 pixels; got 100000.")]
    [DataRow("info --phi 1000", "error: --phi must be in [0, 15] (the compound coefficient φ); got 1000.")]
    [DataRow("info --phi abc", "error: --phi 'abc' is not a number; it must be in [0, 15] (the compound coefficient φ).")]
    [DataRow("info --width 100000 --depth 1 --resolution 2147483647", "error: --width must be in (0, 16]; got 100000.\nerror: --resolution must be from 32 to 2048 pixels; got 2147483647.")]
    [DataRow("train --data x --output y --threads 0", "error: --threads must be from 1 to 1024; got 0.")]
    [DataRow("train --data x --output y --threads 100000", "error: --threads must be from 1 to 1024; got 100000.")]
    [DataRow("quantize --model x --calibration y --output z.onnx --percentile NaN", "error: --percentile must be in [50, 100]; got NaN.")]
    [DataRow("evaluate --model x --data y --per-class 0", "error: --per-class must be at least 1; got 0.")]
    [DataRow("train --data x --output y --validation-fraction NaN", "error: --validation-fraction must be in [0, 1); got NaN.")]
    [DataRow("train --data x --output y --lr Infinity", "error: --lr must be a number > 0; got Infinity.")]
    [DataRow("predict --model x --images y --batch-size 0", "error: --batch-size must be from 1 to 4096; got 0.")]
    [DataRow("info --classes 3000000000", "error: --classes must be from 1 to 1000000; got 3000000000.")]
    [DataRow("compare --data x --output y --hold-out 1", "error: --hold-out must be in (0, 1); got 1.")]
    [DataRow("train --data x --output y --seed abc", "error: --seed 'abc' is not a whole number.")]
    public void ANumberOutOfRangeIsOneLineWithTheRangeBeforeAnyWork(string command, string expected)
    {
        using var dir = new TemporaryDirectory();
        // Relative paths land in the temporary folder: nothing may be created there.
        var run = ProcessRunner.RunDotnet(CliRunner.Assembly, command.Split(' ').Select(a => a is "x" or "y" or "z.onnx" or "y.csv" ? Path.Combine(dir.Path, a) : a));
        Assert.AreEqual(1, run.ExitCode, run.Output + run.Error);
        Assert.AreEqual(expected.Replace("\\n", "\n", StringComparison.Ordinal), run.Error.Trim().Replace("\r", "", StringComparison.Ordinal));
        Assert.AreEqual("", run.Output);
        Assert.AreEqual(0, Directory.GetFileSystemEntries(dir.Path).Length, "refused before anything is written");
    }

    [TestMethod]
    public void ControlCharactersNeverReachTheTerminalAndJsonUsesStandardEscaping()
    {
        using var dir = new TemporaryDirectory();
        string[] labels = ["men's café", "\u001b]0;owned\u0007", "red\u001b[31m", "two\nlines"];
        string model = PredictCommandTests.TinyModel(Path.Combine(dir.Path, "run"), labels);
        string images = Path.Combine(dir.Path, "images");
        for (int i = 0; i < 6; i++) WritePng(Path.Combine(images, $"{i}\u001b[2J.png"), (byte)(40 * i));
        string json = Path.Combine(dir.Path, "p.json");
        var run = CliRunner.Run("predict", "--model", model, "--images", images, "--top", "4", "--output", json);
        Assert.AreEqual(0, run.ExitCode, run.Output + run.Error);
        Assert.IsFalse((run.Output + run.Error).Any(c => char.IsControl(c) && c is not '\n' and not '\r' and not '\t'), "no control character printed: " + run.Output);
        StringAssert.Contains(run.Output, "0\\u001B[2J.png");
        StringAssert.Contains(run.Output, "two\\nlines");
        Assert.AreEqual(7, run.Output.Trim().Split('\n').Length, "one line per image and the summary: the label's line break is not a line");
        // JSON: the labels as they are (escaped only where JSON must), with no \u0027 for the apostrophe.
        string text = File.ReadAllText(json);
        StringAssert.Contains(text, "men's café");
        Assert.IsFalse(text.Contains("\\u0027", StringComparison.Ordinal) || text.Contains("\\u00E9", StringComparison.Ordinal), text);
        using var parsed = JsonDocument.Parse(text);
        CollectionAssert.AreEquivalent(labels, parsed.RootElement[0].GetProperty("top").EnumerateArray().Select(t => t.GetProperty("label").GetString()).ToArray());
    }

    [TestMethod]
    public void ExplainNeverReplacesAFileItDidNotWriteAndSaysWhereTheMapWent()
    {
        using var dir = new TemporaryDirectory();
        string model = PredictCommandTests.TinyModel(Path.Combine(dir.Path, "run"));
        string images = Path.Combine(dir.Path, "images");
        WritePng(Path.Combine(images, "shoe.png"), 10);
        string users = Path.Combine(images, "shoe.cam.png");
        byte[] mine = [1, 2, 3, 4];
        File.WriteAllBytes(users, mine);
        // The user's own shoe.cam.png is also an image of the folder (not a map: efficientnet did not write it), so it is
        // predicted too and gets its own map; the map of shoe.png goes beside it.
        var run = CliRunner.Run("predict", "--model", model, "--images", Path.Combine(images, "shoe.png"), "--explain", images);
        Assert.AreEqual(0, run.ExitCode, run.Output + run.Error);
        CollectionAssert.AreEqual(mine, File.ReadAllBytes(users), "the user's file is kept");
        StringAssert.Contains(run.Error, $"note: --explain: '{users}' is not a file efficientnet wrote; it is kept, and this map is written to '{Path.Combine(images, "shoe-2.cam.png")}'.");
        Assert.IsTrue(File.Exists(Path.Combine(images, "shoe-2.cam.png")));
        // A second run rewrites its own map and does not take the maps it wrote for images.
        var again = CliRunner.Run("predict", "--model", model, "--images", images, "--explain", images, "--output", Path.Combine(dir.Path, "p.json"));
        Assert.AreEqual(2, again.ExitCode, "the user's 4-byte shoe.cam.png is not an image: its row fails, the rest is predicted\n" + again.Output + again.Error);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.Path, "p.json")));
        var paths = json.RootElement.EnumerateArray().Select(r => Path.GetFileName(r.GetProperty("path").GetString())).ToList();
        CollectionAssert.AreEquivalent(new[] { "shoe.cam.png", "shoe.png" }, paths, "shoe-2.cam.png, written by efficientnet, is not read as an image");
        Assert.IsFalse(File.Exists(Path.Combine(images, "shoe-3.cam.png")), string.Join(", ", Directory.GetFiles(images)));
        CollectionAssert.AreEqual(mine, File.ReadAllBytes(users));
    }
}

[TestClass]
public sealed class HostileModelTests
{
    /// <summary>The tiny model with one metadata value replaced (or added).</summary>
    private static string Damaged(string folder, string key, string value)
    {
        string model = PredictCommandTests.TinyModel(folder, ["a", "b"]);
        var proto = Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(model));
        var entry = proto.MetadataProps.FirstOrDefault(p => p.Key == key);
        if (entry is null) proto.MetadataProps.Add(new Onnx.StringStringEntryProto { Key = key, Value = value });
        else entry.Value = value;
        File.WriteAllBytes(model, Google.Protobuf.MessageExtensions.ToByteArray(proto));
        return model;
    }

    private static string Data(string root)
    {
        foreach (var (name, shade) in new[] { ("a", (byte)20), ("b", (byte)220) })
            for (int i = 0; i < 2; i++)
            {
                string path = Path.Combine(root, name, $"{i}.png");
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                using var bitmap = new SKBitmap(28, 28);
                bitmap.Erase(new SKColor(shade, (byte)(i * 50), 90));
                using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
                File.WriteAllBytes(path, data.ToArray());
            }
        return root;
    }

    [TestMethod]
    [DataRow("labels", "cat, dog", "has a damaged 'labels' in its metadata_props: 'cat, dog' is not a JSON array of strings.")]
    [DataRow("labels", "[\"a\"]", "has 1 'labels' in its metadata_props for 2 classes ('num_classes'); each output needs one label.")]
    [DataRow("mean", "abc", "has a damaged 'mean' in its metadata_props: 'abc' is not one or three finite numbers.")]
    [DataRow("bn_eps", "x", "has a damaged 'bn_eps' in its metadata_props: 'x' is not a number in (0, 1).")]
    [DataRow("num_classes", "99999999999", "has a damaged 'num_classes' in its metadata_props: '99999999999' is not a whole number from 1 to 1,000,000.")]
    [DataRow("crop_size", "100000", "has a damaged 'crop_size' in its metadata_props: '100000' is not a whole number from 32 to 2,048.")]
    public void DamagedModelMetadataIsRefusedNamingTheFileAndTheKey(string key, string value, string expected)
    {
        using var dir = new TemporaryDirectory();
        string model = Damaged(Path.Combine(dir.Path, "run"), key, value);
        string data = Data(Path.Combine(dir.Path, "data"));
        var run = CliRunner.Run("predict", "--model", model, "--images", data);
        HostileInputTests.AssertRefused(run, $"'{model}'", expected);
        if (key != "labels" || value != "cat, dog") return;
        // Every command that reads a model says the same.
        HostileInputTests.AssertRefused(CliRunner.Run("evaluate", "--model", model, "--data", data), $"'{model}'", expected);
        HostileInputTests.AssertRefused(CliRunner.Run("quantize", "--model", model, "--calibration", data, "--output", Path.Combine(dir.Path, "q.onnx")), $"'{model}'", expected);
        HostileInputTests.AssertRefused(CliRunner.Run("featurize", "--weights", model, "--images", data, "--output", Path.Combine(dir.Path, "f.csv")), $"'{model}'", expected);
    }

    [TestMethod]
    public void EvaluateCountsEachImageOnceThroughALinkCycleAndSkipsOutputFoldersInTheData()
    {
        using var dir = new TemporaryDirectory();
        string model = PredictCommandTests.TinyModel(Path.Combine(dir.Path, "run"), ["a", "b"]);
        string data = Data(Path.Combine(dir.Path, "data"));
        Directory.CreateSymbolicLink(Path.Combine(data, "a", "loop"), data);
        Directory.CreateSymbolicLink(Path.Combine(data, "b", "loop"), Path.Combine(data, "b"));
        // What a comparison writes into its --output: marked, then plots.
        string compare = Path.Combine(data, "compare");
        Directory.CreateDirectory(compare);
        File.WriteAllText(Path.Combine(compare, ".efficientnet-output"), "*\n");
        File.Copy(Path.Combine(data, "a", "0.png"), Path.Combine(compare, "pareto.png"));
        var run = CliRunner.Run("evaluate", "--model", model, "--data", data, "--json");
        Assert.AreEqual(0, run.ExitCode, run.Output + run.Error);
        using var json = System.Text.Json.JsonDocument.Parse(run.Output);
        Assert.AreEqual(4, json.RootElement.GetProperty("images").GetInt32(), "2 + 2 images, each once");
        CollectionAssert.AreEqual(new[] { "a", "b" }, json.RootElement.GetProperty("labels").EnumerateArray().Select(l => l.GetString()).ToArray());
        Assert.AreEqual(1, CountOf(run.Error, $"note: '{Path.Combine(data, "a", "loop")}' leads to"), run.Error);
        Assert.AreEqual(1, CountOf(run.Error, $"note: '{Path.Combine(data, "b", "loop")}' leads to"), run.Error);
        Assert.AreEqual(1, CountOf(run.Error, $"note: '{compare}' holds efficientnet's own output"), run.Error);
    }

    private static int CountOf(string text, string part) => (text.Length - text.Replace(part, "", StringComparison.Ordinal).Length) / part.Length;
}
