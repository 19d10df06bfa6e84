using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.ML.EfficientNet.Onnx;
using Microsoft.ML.EfficientNet.Scoring;

namespace Microsoft.ML.EfficientNet.Tests.Onnx;

/// <summary>The disk tier of <see cref="OnnxExportCache"/>, through the featurizer's <c>Fit</c> as a later process would run it.</summary>
[TestClass]
public sealed class OnnxExportCacheTests
{
    private static IDataView Images(MLContext ml)
    {
        var data = ImageData.Load(ml, ImageData.GoodRows().Take(2));
        return ml.Transforms.LoadImages("Image", ImageData.Folder, "Path").Fit(data).Transform(data);
    }

    private static EfficientNetFeaturizerOptions Options(string cache, int seed) =>
        new() { UseRandomWeights = true, RandomSeed = seed, Resolution = 64, CacheDirectory = cache };

    private static byte[] Fit(string cache, int seed, bool cacheExports = true, ILogger? logger = null)
    {
        var ml = new MLContext(seed: 1);
        var options = Options(cache, seed);
        options.CacheExports = cacheExports;
        options.Logger = logger;
        using var featurizer = ml.Transforms.EfficientNetFeaturizer("b0", options: options).Fit(Images(ml));
        return featurizer.OnnxModel.ToArray();
    }

    private static string[] Exports(string cache) =>
        Directory.Exists(Path.Combine(cache, OnnxExportCache.FolderName)) ? Directory.GetFiles(Path.Combine(cache, OnnxExportCache.FolderName)) : [];

    [TestMethod]
    public void ALaterProcessLoadsTheExportFromTheCacheFolder()
    {
        using var cache = new TemporaryDirectory();
        using var other = new TemporaryDirectory();
        OnnxExportCache.Clear();
        byte[] first = Fit(cache.Path, seed: 5);
        string file = Exports(cache.Path).Single();
        StringAssert.Matches(Path.GetFileName(file), new System.Text.RegularExpressions.Regex("^[0-9a-f]{16}-[0-9a-f]{16}\\.onnx$"));

        // Put another valid model (other weights) in the file of seed 5's key, named by its own digest: a fit of seed 5
        // in a "new process" (memory tier cleared) returns it, which shows the model came from the folder, not an export.
        OnnxExportCache.Clear();
        byte[] seed6 = Fit(other.Path, seed: 6);
        byte[] planted = File.ReadAllBytes(Exports(other.Path).Single());
        string keyDigest = Path.GetFileName(file)[..16];
        File.Delete(file);
        string plantedFile = Path.Combine(Path.GetDirectoryName(file)!, $"{keyDigest}-{Digest(planted)}.onnx");
        File.WriteAllBytes(plantedFile, planted);
        OnnxExportCache.Clear();
        byte[] fromFolder = Fit(cache.Path, seed: 5);
        CollectionAssert.AreNotEqual(first, fromFolder);
        CollectionAssert.AreEqual(seed6, fromFolder);

        // A file whose bytes no longer match its name is deleted and the weights are exported again.
        byte[] altered = File.ReadAllBytes(plantedFile);
        altered[altered.Length / 2] ^= 0xFF;
        File.WriteAllBytes(plantedFile, altered);
        OnnxExportCache.Clear();
        CollectionAssert.AreEqual(first, Fit(cache.Path, seed: 5));
        Assert.IsFalse(File.Exists(plantedFile), "the altered file is removed");
        Assert.AreEqual(Path.GetFileName(file), Path.GetFileName(Exports(cache.Path).Single()), "the fresh export is stored under its digest");
        OnnxExportCache.Clear();
    }

    [TestMethod]
    public void CacheExportsOffWritesNothingAndAnUnwritableFolderOnlyCostsTheCaching()
    {
        using var cache = new TemporaryDirectory();
        OnnxExportCache.Clear();
        byte[] model = Fit(cache.Path, seed: 7, cacheExports: false);
        Assert.AreEqual(0, Exports(cache.Path).Length);

        // A cache "folder" that is a file cannot hold exports: Fit still succeeds, with one warning naming the folder.
        string blocked = Path.Combine(cache.Path, "not-a-folder");
        File.WriteAllText(blocked, "");
        var logger = new ListLogger();
        OnnxExportCache.Clear();
        CollectionAssert.AreEqual(model, Fit(blocked, seed: 7, logger: logger));
        var warning = logger.Entries.Single(e => e.Level == LogLevel.Warning).Message;
        StringAssert.Contains(warning, Path.Combine(blocked, OnnxExportCache.FolderName));
        OnnxExportCache.Clear();
    }

    [TestMethod]
    public void EvictionKeepsTheMostRecentlyUsedModelsUnderTheLimitAndRemovesStaleTemporaryFiles()
    {
        using var folder = new TemporaryDirectory();
        var now = DateTime.UtcNow;
        string File(string name, int bytes, TimeSpan age)
        {
            string path = Path.Combine(folder.Path, name);
            System.IO.File.WriteAllBytes(path, new byte[bytes]);
            System.IO.File.SetLastWriteTimeUtc(path, now - age);
            return path;
        }
        string newest = File("a-1.onnx", 400, TimeSpan.FromMinutes(1));
        string middle = File("b-2.onnx", 400, TimeSpan.FromMinutes(5));
        string oldest = File("c-3.onnx", 400, TimeSpan.FromMinutes(9));
        string staleTemporary = File("d-4.onnx.tmp-0badf00d", 400, TimeSpan.FromHours(2)); // a write killed long ago
        string liveTemporary = File("e-5.onnx.tmp-12345678", 400, TimeSpan.Zero);           // a write in progress
        OnnxExportCache.Evict(folder.Path, limit: 1000);
        Assert.IsTrue(System.IO.File.Exists(newest) && System.IO.File.Exists(middle), "the two most recent models fit under 1,000 bytes");
        Assert.IsFalse(System.IO.File.Exists(oldest), "the least recently used model goes");
        Assert.IsFalse(System.IO.File.Exists(staleTemporary), "a killed write's temporary file goes");
        Assert.IsTrue(System.IO.File.Exists(liveTemporary), "a write in progress is left alone");
    }

    private static string Digest(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes))[..16];
}
