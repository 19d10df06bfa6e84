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
    private static void AssertRefused(ProcessRunner.Result run, params string[] expected)
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
