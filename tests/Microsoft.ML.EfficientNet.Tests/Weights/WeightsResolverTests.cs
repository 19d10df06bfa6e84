using System.Security.Cryptography;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Weights;

namespace Microsoft.ML.EfficientNet.Tests.Weights;

/// <summary>The one resolver of "which weights": explicit file → cache → download → random only when asked.</summary>
[TestClass]
public sealed class WeightsResolverTests
{
    private const string CachedName = "efficientnet_b0_resolver_test.pth";
    private static readonly string FixtureFile = Fixtures.Generated("b0.torchvision.pth");
    private static readonly byte[] Weights = File.ReadAllBytes(FixtureFile);
    private static readonly string Sha256 = Convert.ToHexStringLower(SHA256.HashData(Weights));

    // Port 9 (discard) on loopback: nothing answers, so any download attempt fails fast.
    private static PretrainedWeights Unreachable(string sha) =>
        new(EfficientNetVariant.B0, CachedName, new Uri("http://127.0.0.1:9/" + CachedName), sha, WeightFormat.TorchVision);

    [TestMethod]
    public void AnExplicitFileIsLoadedAsIs()
    {
        var checkpoint = WeightsResolver.Resolve(new WeightsRequest(EfficientNetVariant.B0) { File = FixtureFile });
        Assert.AreEqual(FixtureFile, checkpoint.Origin);
        Assert.AreEqual(360, checkpoint.Weights.Count);
        Assert.AreEqual(WeightFormat.TorchVision, checkpoint.Source.Format);

        var transfer = WeightsResolver.Resolve(new WeightsRequest(EfficientNetVariant.B0) { File = FixtureFile, NumClasses = 10, ReplaceHead = true });
        Assert.AreEqual(10, transfer.Spec.NumClasses);
        Assert.IsTrue(transfer.HeadReplaced);
    }

    [TestMethod]
    public void AMissingFileIsAnErrorNamingIt()
    {
        using var dir = new TemporaryDirectory();
        string missing = Path.Combine(dir.Path, "nowhere", "b0.pth");
        var error = Assert.ThrowsExactly<FileNotFoundException>(() =>
            WeightsResolver.Resolve(new WeightsRequest(EfficientNetVariant.B0) { File = missing, FileDescription = "WeightsPath" }));
        Assert.AreEqual(missing, error.FileName);
        StringAssert.Contains(error.Message, missing);
        StringAssert.Contains(error.Message, "WeightsPath");
    }

    [TestMethod]
    public void ACachedFileIsUsedWithoutTheNetwork()
    {
        using var dir = new TemporaryDirectory();
        File.Copy(FixtureFile, Path.Combine(dir.Path, CachedName));
        var checkpoint = WeightsResolver.Resolve(new WeightsRequest(EfficientNetVariant.B0)
        {
            Pretrained = Unreachable(Sha256[..8]),
            CacheDirectory = dir.Path,
            AllowDownload = false,
        });
        Assert.AreEqual(Path.Combine(dir.Path, CachedName), checkpoint.Origin);
        Assert.AreEqual(Sha256, checkpoint.Sha256);
    }

    [TestMethod]
    public void AFileMissingFromTheCacheIsDownloadedOnce()
    {
        using var server = new LocalFileServer();
        using var dir = new TemporaryDirectory();
        var published = new PretrainedWeights(EfficientNetVariant.B0, CachedName, server.Add(CachedName, Weights), Sha256, WeightFormat.TorchVision);
        var request = new WeightsRequest(EfficientNetVariant.B0) { Pretrained = published, CacheDirectory = dir.Path };
        Assert.AreEqual(Path.Combine(dir.Path, CachedName), WeightsResolver.Resolve(request).Origin);
        Assert.AreEqual(Path.Combine(dir.Path, CachedName), WeightsResolver.Resolve(request).Origin);
        Assert.AreEqual(1, server.Requests.Count);
    }

    [TestMethod]
    public void NoWeightsIsAnErrorNamingTheAddressNotRandomWeights()
    {
        using var dir = new TemporaryDirectory();
        var error = Assert.ThrowsExactly<FileNotFoundException>(() => WeightsResolver.Resolve(new WeightsRequest(EfficientNetVariant.B0)
        {
            Pretrained = Unreachable(Sha256),
            CacheDirectory = dir.Path,
            AllowDownload = false,
        }));
        StringAssert.Contains(error.Message, "http://127.0.0.1:9/" + CachedName);
        StringAssert.Contains(error.Message, Path.Combine(dir.Path, CachedName));
    }

    [TestMethod]
    public void RandomWeightsOnlyWhenAsked()
    {
        var random = WeightsResolver.Resolve(new WeightsRequest(EfficientNetVariant.B0) { UseRandomWeights = true, RandomSeed = 3 });
        Assert.AreEqual("random weights (seed 3)", random.Origin);
        Assert.AreEqual(1000, random.Spec.NumClasses);
        Assert.AreEqual(7, WeightsResolver.Resolve(new WeightsRequest(EfficientNetVariant.B0) { UseRandomWeights = true, NumClasses = 7 }).Spec.NumClasses);
        var both = Assert.ThrowsExactly<ArgumentException>(() =>
            WeightsResolver.Resolve(new WeightsRequest(EfficientNetVariant.B0) { UseRandomWeights = true, File = FixtureFile }));
        StringAssert.Contains(both.Message, FixtureFile);
    }

    [TestMethod]
    public void APublishedFileOfAnotherVariantIsRefused()
    {
        var b1 = PretrainedWeights.Torchvision(EfficientNetVariant.B1);
        var error = Assert.ThrowsExactly<ArgumentException>(() =>
            WeightsResolver.Resolve(new WeightsRequest(EfficientNetVariant.B0) { Pretrained = b1, AllowDownload = false }));
        StringAssert.Contains(error.Message, b1.FileName);
        // A variant with no published file says so instead of guessing.
        Assert.ThrowsExactly<ArgumentException>(() => WeightsResolver.Resolve(new WeightsRequest(EfficientNetVariant.FromPhi(1)) { AllowDownload = false }));
    }
}
