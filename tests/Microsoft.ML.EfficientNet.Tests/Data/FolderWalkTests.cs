using System.Diagnostics;
using Microsoft.ML.EfficientNet.Data;
using Microsoft.ML.EfficientNet.IO;
using Microsoft.ML.EfficientNet.Preprocessing;

namespace Microsoft.ML.EfficientNet.Tests.Data;

/// <summary>
/// The one walk over image folders (<see cref="FolderWalker"/> behind <see cref="ImageFolder"/>): link cycles followed
/// once and said once, only regular files listed, EfficientNetML's own output folders never read as data, class folder
/// names that cannot be a line refused; and the decoder that never opens a FIFO nor reads an oversized file.
/// </summary>
[TestClass]
public sealed class FolderWalkTests
{
    private static readonly byte[] Png = TestImagesPng();

    private static byte[] TestImagesPng()
    {
        using var bitmap = new SkiaSharp.SKBitmap(8, 8);
        bitmap.Erase(new SkiaSharp.SKColor(200, 30, 60));
        using var data = bitmap.Encode(SkiaSharp.SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    private static void Images(string folder, int count)
    {
        Directory.CreateDirectory(folder);
        for (int i = 0; i < count; i++) File.WriteAllBytes(Path.Combine(folder, $"{i}.png"), Png);
    }

    private static void MakeFifo(string path)
    {
        using var process = Process.Start(new ProcessStartInfo("mkfifo", [path]) { UseShellExecute = false })!;
        process.WaitForExit();
        Assert.AreEqual(0, process.ExitCode, "mkfifo");
    }

    [TestMethod]
    public void LinkCyclesAreFollowedOnceAndSaidOnceAndImagesKeepTheirClass()
    {
        using var dir = new TemporaryDirectory();
        string root = Path.Combine(dir.Path, "data");
        Images(Path.Combine(root, "a"), 3);
        Images(Path.Combine(root, "b"), 5);
        // Two loops back to the root and into the class itself, and a link from one class into another.
        Directory.CreateSymbolicLink(Path.Combine(root, "a", "loop"), root);
        Directory.CreateSymbolicLink(Path.Combine(root, "a", "self"), Path.Combine(root, "a"));
        Directory.CreateSymbolicLink(Path.Combine(root, "b", "to-a"), Path.Combine(root, "a"));
        // A folder outside the data reached through a link is read, once.
        Images(Path.Combine(dir.Path, "outside"), 2);
        Directory.CreateSymbolicLink(Path.Combine(root, "b", "extra"), Path.Combine(dir.Path, "outside"));
        Directory.CreateSymbolicLink(Path.Combine(root, "b", "extra-again"), Path.Combine(dir.Path, "outside"));

        var folder = ImageFolder.Open(root);
        CollectionAssert.AreEqual(new[] { "a", "b" }, folder.Classes.ToArray());
        Assert.AreEqual(3, folder.Rows.Count(r => r.Label == "a"), string.Join("\n", folder.Rows.Select(r => r.Path)));
        Assert.AreEqual(7, folder.Rows.Count(r => r.Label == "b"), "5 of its own and 2 through one link");
        Assert.AreEqual(folder.Rows.Count, folder.Rows.Select(r => Path.GetFullPath(Path.Combine(root, r.Path))).Select(p => FileStat.Of(p).Identity).Distinct().Count(), "no file twice");
        Assert.AreEqual(4, folder.Skipped.Count, string.Join("\n", folder.Skipped));
        foreach (string link in new[] { "a/loop", "a/self", "b/to-a" })
            Assert.AreEqual(1, folder.Skipped.Count(s => s.StartsWith($"'{Path.Combine(root, link)}' leads to", StringComparison.Ordinal)), link);
        StringAssert.Contains(folder.Skipped.Single(s => s.Contains("extra-again", StringComparison.Ordinal)), "a folder already listed (a link cycle or a second way in); it was not followed.");

        // The flat walk (calibration, predict, featurize) terminates too, with each file once.
        var flat = ImageFolder.OpenFlat(root);
        Assert.AreEqual(10, flat.Rows.Count);
    }

    [TestMethod]
    public void OutputFoldersAndListedOutputsAreNotData()
    {
        using var dir = new TemporaryDirectory();
        string root = Path.Combine(dir.Path, "data");
        Images(Path.Combine(root, "a"), 2);
        Images(Path.Combine(root, "b"), 2);
        // A comparison's output (marked), a run folder without a marker (its training.json), and maps the marker lists.
        Images(Path.Combine(root, "compare"), 4);
        OutputMarker.MarkFolder(Path.Combine(root, "compare"));
        Images(Path.Combine(root, "run"), 3);
        File.WriteAllText(Path.Combine(root, "run", RunFolder.SummaryFileName), "{}");
        File.WriteAllBytes(Path.Combine(root, "a", "0.cam.png"), Png);
        OutputMarker.RecordFile(Path.Combine(root, "a"), "0.cam.png");

        var folder = ImageFolder.Open(root);
        CollectionAssert.AreEqual(new[] { "a", "b" }, folder.Classes.ToArray());
        Assert.AreEqual(4, folder.Rows.Count, string.Join("\n", folder.Rows.Select(r => r.Path)));
        Assert.AreEqual(2, folder.Skipped.Count(s => s.EndsWith("holds efficientnet's own output (a run, a comparison or class activation maps); its files are not read as data.", StringComparison.Ordinal)));
        Assert.AreEqual(4, ImageFolder.OpenFlat(root).Rows.Count);
    }

    [TestMethod]
    public void AFifoIsNeverOpenedAndAClassNameWithALineBreakIsRefused()
    {
        using var dir = new TemporaryDirectory();
        string root = Path.Combine(dir.Path, "data");
        Images(Path.Combine(root, "a"), 2);
        Images(Path.Combine(root, "b"), 2);
        string fifo = Path.Combine(root, "a", "pipe.png");
        MakeFifo(fifo);
        var clock = Stopwatch.StartNew();
        var folder = ImageFolder.Open(root);
        Assert.AreEqual(4, folder.Rows.Count);
        Assert.AreEqual($"'{fifo}' is not a regular file (a FIFO, socket or device); it was not opened.", folder.Skipped.Single());
        // The decoder refuses it by its metadata, without the open that would wait for a writer.
        var e = Assert.ThrowsExactly<InvalidDataException>(() => ImageDecoder.Default.DecodeRgb(fifo));
        Assert.AreEqual($"Image '{fifo}' is not a regular file (a FIFO, socket or device); it was not opened.", e.Message);
        Assert.IsTrue(clock.Elapsed < TimeSpan.FromSeconds(30), "nothing blocked");
        // As weights or a model.
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => Microsoft.ML.EfficientNet.Weights.StateDict.Load(fifo)).Message, "is not a regular file");

        Images(Path.Combine(root, "two\nlines"), 1);
        var refused = Assert.ThrowsExactly<InvalidDataException>(() => ImageFolder.Open(root));
        StringAssert.Contains(refused.Message, $"Class folder '{Path.Combine(root, "two\nlines")}' has a control character in its name (U+000A); a class name must fit on one line. Rename the folder.");
    }

    [TestMethod]
    public void AnImageFileLargerThanThePixelLimitCouldNeedIsRefusedBeforeItIsRead()
    {
        using var dir = new TemporaryDirectory();
        string huge = Path.Combine(dir.Path, "zeros.png");
        // Sparse: 1.5 GB that takes no disk and would take 1.5 GB of memory to read.
        using (var stream = File.Create(huge)) stream.SetLength(1_500_000_000);
        long before = GC.GetTotalAllocatedBytes(precise: true);
        var e = Assert.ThrowsExactly<InvalidDataException>(() => ImageDecoder.Default.DecodeRgb(huge));
        Assert.IsTrue(GC.GetTotalAllocatedBytes(precise: true) - before < 16 << 20, "not read");
        Assert.AreEqual($"'{huge}' is 1,500,000,000 bytes, more than the limit of 416,777,216 for an image file (4 bytes per pixel of MaxImagePixels, plus 16 MB); it was not read.", e.Message);
        // The limit follows the pixel limit.
        Assert.AreEqual(4 * 1000 + (16 << 20), new ImageDecoder(maxPixels: 1000).MaxFileBytes);
    }
}
