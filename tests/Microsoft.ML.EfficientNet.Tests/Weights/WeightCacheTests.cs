using System.Security.Cryptography;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Scoring;
using Microsoft.ML.EfficientNet.Weights;

namespace Microsoft.ML.EfficientNet.Tests.Weights;

/// <summary>The download-and-cache path, against an HTTP server on 127.0.0.1 serving generated weights.</summary>
[TestClass]
public sealed class WeightCacheTests
{
    private static readonly byte[] Weights = File.ReadAllBytes(Fixtures.Generated("b0.torchvision.pth"));
    private static readonly string Sha256 = Convert.ToHexStringLower(SHA256.HashData(Weights));

    private static PretrainedWeights Published(LocalFileServer server, string sha = "") =>
        new(EfficientNetVariant.B0, "efficientnet_b0_test.pth", server.Add("efficientnet_b0_test.pth", Weights), sha.Length > 0 ? sha : Sha256, WeightFormat.TorchVision);

    [TestMethod]
    public void DownloadsVerifiesAndReusesTheFile()
    {
        using var server = new LocalFileServer();
        using var dir = new TemporaryDirectory();
        var cache = new WeightCache(dir.Path);
        var weights = Published(server);
        string path = cache.Fetch(weights);
        Assert.AreEqual(Path.Combine(dir.Path, "efficientnet_b0_test.pth"), path);
        CollectionAssert.AreEqual(Weights, File.ReadAllBytes(path));
        Assert.AreEqual(1, server.Requests.Count);
        Assert.AreEqual(path, cache.Fetch(weights));
        Assert.AreEqual(1, server.Requests.Count, "a cached file is not downloaded again");
        Assert.IsFalse(File.Exists(path + ".partial"));
    }

    [TestMethod]
    public void PrefixOfTheDigestIsEnough()
    {
        using var server = new LocalFileServer();
        using var dir = new TemporaryDirectory();
        Assert.IsTrue(File.Exists(new WeightCache(dir.Path).Fetch(Published(server, Sha256[..8]))));
    }

    [TestMethod]
    public void DroppedConnectionsAreResumedWithRangeRequests()
    {
        using var server = new LocalFileServer { CutAfterBytes = Weights.Length / 3 };
        server.CutNextResponses(2);
        using var dir = new TemporaryDirectory();
        string path = new WeightCache(dir.Path) { MaxAttempts = 3 }.Fetch(Published(server));
        CollectionAssert.AreEqual(Weights, File.ReadAllBytes(path));
        Assert.AreEqual(3, server.Requests.Count);
        StringAssert.EndsWith(server.Requests[1], $"bytes={Weights.Length / 3}-");
        StringAssert.EndsWith(server.Requests[2], $"bytes={2 * (Weights.Length / 3)}-");
    }

    [TestMethod]
    public void WrongDigestIsRejectedAndNothingIsKept()
    {
        using var server = new LocalFileServer();
        using var dir = new TemporaryDirectory();
        var error = Assert.ThrowsExactly<InvalidDataException>(() => new WeightCache(dir.Path).Fetch(Published(server, new string('0', 64))));
        StringAssert.Contains(error.Message, $"has SHA-256 {Sha256}");
        Assert.AreEqual(0, Directory.GetFiles(dir.Path).Count(f => !f.EndsWith(".lock", StringComparison.Ordinal)));
    }

    [TestMethod]
    public void OfflineErrorSaysWhichFileToPutWhere()
    {
        using var dir = new TemporaryDirectory();
        var unreachable = new PretrainedWeights(EfficientNetVariant.B0, "efficientnet_b0_test.pth", new Uri("http://127.0.0.1:9/efficientnet_b0_test.pth"), Sha256, WeightFormat.TorchVision);
        var error = Assert.ThrowsExactly<FileNotFoundException>(() => new WeightCache(dir.Path) { MaxAttempts = 2 }.Fetch(unreachable));
        StringAssert.Contains(error.Message, "http://127.0.0.1:9/efficientnet_b0_test.pth");
        StringAssert.Contains(error.Message, Path.Combine(dir.Path, "efficientnet_b0_test.pth"));
        StringAssert.Contains(error.Message, "failed 2 times");
        var off = Assert.ThrowsExactly<FileNotFoundException>(() => new WeightCache(dir.Path).Fetch(unreachable, allowDownload: false));
        StringAssert.Contains(off.Message, "downloads are turned off");
    }

    [TestMethod]
    public void ConcurrentFetchesDownloadOnce()
    {
        using var server = new LocalFileServer { Delay = TimeSpan.FromMilliseconds(300) };
        using var dir = new TemporaryDirectory();
        var weights = Published(server);
        var tasks = Enumerable.Range(0, 4).Select(_ => Task.Run(() => new WeightCache(dir.Path).Fetch(weights))).ToArray();
        Task.WaitAll(tasks);
        Assert.IsTrue(tasks.All(t => t.Result == tasks[0].Result));
        Assert.AreEqual(1, server.Requests.Count, string.Join(", ", server.Requests));
        CollectionAssert.AreEqual(Weights, File.ReadAllBytes(tasks[0].Result));
    }

    [TestMethod]
    public void CorruptedCacheFileIsReported()
    {
        using var server = new LocalFileServer();
        using var dir = new TemporaryDirectory();
        var weights = Published(server);
        string path = new WeightCache(dir.Path).Fetch(weights);
        File.WriteAllBytes(path, Weights[..1000]);
        var error = Assert.ThrowsExactly<InvalidDataException>(() => new WeightCache(dir.Path).Fetch(weights));
        StringAssert.Contains(error.Message, "Delete it to download it again");
    }

    [TestMethod]
    public void FeaturizerFetchesPretrainedWeightsIntoTheCache()
    {
        using var server = new LocalFileServer();
        using var dir = new TemporaryDirectory();
        var ml = new MLContext();
        var data = ImageData.Load(ml, ImageData.GoodRows().Take(2));
        var images = ml.Transforms.LoadImages("Image", ImageData.Folder, "Path").Fit(data).Transform(data);
        var options = new EfficientNetFeaturizerOptions { CacheDirectory = dir.Path, Pretrained = Published(server) };
        using var featurizer = ml.Transforms.EfficientNetFeaturizer("b0", options: options).Fit(images);
        Assert.AreEqual(Sha256, featurizer.Metadata.WeightSha256);
        Assert.IsTrue(File.Exists(Path.Combine(dir.Path, "efficientnet_b0_test.pth")));
        using var fromFile = ml.Transforms.EfficientNetFeaturizer("b0", options: new() { WeightsPath = Fixtures.Generated("b0.torchvision.pth") }).Fit(images);
        var a = ImageData.Column(featurizer.Transform(images), "Features");
        var b = ImageData.Column(fromFile.Transform(images), "Features");
        Assert.AreEqual(0.0, Parity.MaxAbsDiff(a[0], b[0]));
    }

    [TestMethod]
    public void CacheFolderComesFromTheEnvironmentWhenNotGiven()
    {
        string? before = Environment.GetEnvironmentVariable(WeightCache.DirectoryVariable);
        try
        {
            Environment.SetEnvironmentVariable(WeightCache.DirectoryVariable, "/tmp/efficientnetml-env-cache");
            Assert.AreEqual("/tmp/efficientnetml-env-cache", new WeightCache().Directory);
            Assert.AreEqual("/tmp/explicit", new WeightCache("/tmp/explicit").Directory);
        }
        finally
        {
            Environment.SetEnvironmentVariable(WeightCache.DirectoryVariable, before);
        }
        Environment.SetEnvironmentVariable(WeightCache.DirectoryVariable, null);
        try { StringAssert.EndsWith(WeightCache.DefaultDirectory(), "efficientnetml"); }
        finally { Environment.SetEnvironmentVariable(WeightCache.DirectoryVariable, before); }
    }

    [TestMethod]
    public void TorchvisionTableHasEveryVariant()
    {
        foreach (var variant in EfficientNetVariant.Published)
        {
            var weights = PretrainedWeights.Torchvision(variant);
            StringAssert.StartsWith(weights.Url.ToString(), "https://download.pytorch.org/models/efficientnet_" + variant.Name);
            StringAssert.Contains(weights.FileName, weights.Sha256[..8]);
        }
        Assert.AreEqual(64, PretrainedWeights.Torchvision(EfficientNetVariant.B4).Sha256.Length);
    }
}
