using System.Diagnostics;
using System.Security.Cryptography;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Weights;

namespace Microsoft.ML.EfficientNet.Tests.Weights;

/// <summary>
/// Downloads against a misbehaving server on 127.0.0.1, as real mirrors and proxies misbehave. After each: the stated outcome, and at most
/// one good copy in the cache (never a final file that is not the published one). WeightCacheTests covers the wrong
/// hash, resumed dropped connections, and concurrent threads.
/// </summary>
[TestClass]
public sealed class DownloadFaultTests
{
    private const string Name = "efficientnet_b0_test.pth";
    private static readonly byte[] Weights = File.ReadAllBytes(Fixtures.Generated("b0.torchvision.pth"));
    private static readonly string Sha256 = Convert.ToHexStringLower(SHA256.HashData(Weights));

    private static PretrainedWeights Published(LocalFileServer server) =>
        new(EfficientNetVariant.B0, Name, server.Add(Name, Weights), Sha256, WeightFormat.TorchVision);

    private static string[] CacheFiles(string dir) =>
        Directory.GetFiles(dir).Select(Path.GetFileName).Where(f => !f!.EndsWith(".lock", StringComparison.Ordinal)).Order().ToArray()!;

    [TestMethod]
    public void ServerErrorIsRetriedThenReportedAndNothingIsKept()
    {
        using var server = new LocalFileServer();
        using var dir = new TemporaryDirectory();
        var weights = Published(server);
        server.FailWith[Name] = 500;
        var error = Assert.ThrowsExactly<FileNotFoundException>(() => new WeightCache(dir.Path) { MaxAttempts = 2 }.Fetch(weights));
        StringAssert.Contains(error.Message, "failed 2 times");
        StringAssert.Contains(error.Message, "500");
        Assert.AreEqual(2, server.Requests.Count);
        CollectionAssert.AreEqual(Array.Empty<string>(), CacheFiles(dir.Path));
    }

    [TestMethod]
    public void NotFoundIsReportedAtOnceWithoutRetrying()
    {
        using var server = new LocalFileServer();
        using var dir = new TemporaryDirectory();
        var weights = Published(server);
        server.FailWith[Name] = 404;
        var error = Assert.ThrowsExactly<FileNotFoundException>(() => new WeightCache(dir.Path) { MaxAttempts = 3 }.Fetch(weights));
        StringAssert.Contains(error.Message, "failed with HTTP 404 (NotFound)");
        StringAssert.Contains(error.Message, Path.Combine(dir.Path, Name));
        Assert.AreEqual(1, server.Requests.Count, "a 404 is not retried");
        CollectionAssert.AreEqual(Array.Empty<string>(), CacheFiles(dir.Path));
    }

    [TestMethod]
    public void ServerThatSendsNoHeadersTimesOut()
    {
        using var server = new LocalFileServer { Delay = TimeSpan.FromSeconds(2) };
        using var dir = new TemporaryDirectory();
        var clock = Stopwatch.StartNew();
        var error = Assert.ThrowsExactly<FileNotFoundException>(() =>
            new WeightCache(dir.Path) { MaxAttempts = 1, StallTimeout = TimeSpan.FromSeconds(0.5) }.Fetch(Published(server)));
        clock.Stop();
        StringAssert.Contains(error.Message, "sent nothing for 0.5 s (after 0 bytes)");
        Assert.IsTrue(clock.Elapsed < TimeSpan.FromSeconds(1.8), $"gave up after {clock.Elapsed.TotalSeconds:0.00} s, not at the 0.5 s timeout");
        Assert.IsFalse(File.Exists(Path.Combine(dir.Path, Name)));
    }

    [TestMethod]
    public void ServerThatStallsMidBodyTimesOutAndTheNextFetchResumes()
    {
        int half = Weights.Length / 2;
        using var server = new LocalFileServer { StallAfterBytes = half, StallFor = TimeSpan.FromSeconds(2) };
        using var dir = new TemporaryDirectory();
        var weights = Published(server);
        var error = Assert.ThrowsExactly<FileNotFoundException>(() =>
            new WeightCache(dir.Path) { MaxAttempts = 1, StallTimeout = TimeSpan.FromSeconds(0.5) }.Fetch(weights));
        StringAssert.Contains(error.Message, "sent nothing for 0.5 s");
        // Only the partial file stays, named as partial; no final file claims to be complete.
        CollectionAssert.AreEqual(new[] { Name + ".partial" }, CacheFiles(dir.Path));
        Assert.AreEqual(half, new FileInfo(Path.Combine(dir.Path, Name + ".partial")).Length);

        server.StallAfterBytes = -1;
        string path = new WeightCache(dir.Path).Fetch(weights);
        CollectionAssert.AreEqual(Weights, File.ReadAllBytes(path));
        StringAssert.EndsWith(server.Requests[^1], $"bytes={half}-");
        CollectionAssert.AreEqual(new[] { Name, Name + ".sha256" }, CacheFiles(dir.Path));
    }

    [TestMethod]
    public void TimeoutComesFromTheEnvironmentWhenNotSet()
    {
        string? before = Environment.GetEnvironmentVariable(WeightCache.StallTimeoutVariable);
        try
        {
            Environment.SetEnvironmentVariable(WeightCache.StallTimeoutVariable, "2.5");
            Assert.AreEqual(TimeSpan.FromSeconds(2.5), new WeightCache("/tmp/x").StallTimeout);
            Environment.SetEnvironmentVariable(WeightCache.StallTimeoutVariable, null);
            Assert.AreEqual(TimeSpan.FromSeconds(60), new WeightCache("/tmp/x").StallTimeout);
        }
        finally
        {
            Environment.SetEnvironmentVariable(WeightCache.StallTimeoutVariable, before);
        }
    }

    [TestMethod]
    public void BodyCutOnEveryAttemptFailsAndKeepsOnlyThePartialFile()
    {
        using var server = new LocalFileServer { CutAfterBytes = 1000 };
        server.CutNextResponses(100);
        using var dir = new TemporaryDirectory();
        var weights = Published(server);
        var error = Assert.ThrowsExactly<FileNotFoundException>(() => new WeightCache(dir.Path) { MaxAttempts = 2 }.Fetch(weights));
        StringAssert.Contains(error.Message, "failed 2 times");
        CollectionAssert.AreEqual(new[] { Name + ".partial" }, CacheFiles(dir.Path));
        Assert.AreEqual(2000, new FileInfo(Path.Combine(dir.Path, Name + ".partial")).Length, "each attempt resumed the last");
    }

    [TestMethod]
    public void BodyTruncatedWithoutALengthFailsTheHashAndKeepsNothing()
    {
        // Chunked, no Content-Length: the transfer looks complete, only the digest can tell.
        using var server = new LocalFileServer { TruncateSilently = true, CutAfterBytes = Weights.Length / 2 };
        using var dir = new TemporaryDirectory();
        var error = Assert.ThrowsExactly<InvalidDataException>(() => new WeightCache(dir.Path).Fetch(Published(server)));
        StringAssert.Contains(error.Message, $"must start with {Sha256}");
        CollectionAssert.AreEqual(Array.Empty<string>(), CacheFiles(dir.Path));
    }

    /// <summary>Starts util-linux flock(1) holding the cache's lock file (the same flock(2) lock .NET takes for
    /// FileShare.None) while it runs <paramref name="script"/>; returns once the lock is held.</summary>
    private static Process HoldLock(string lockPath, string script, string heldMarker)
    {
        const string flock = "/usr/bin/flock";
        Assert.IsTrue(File.Exists(flock), "util-linux flock(1) is needed for the two-process test");
        var start = new ProcessStartInfo(flock) { UseShellExecute = false };
        foreach (string a in (string[])[lockPath, "sh", "-c", $"touch '{heldMarker}'; {script}"]) start.ArgumentList.Add(a);
        var process = Process.Start(start)!;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!File.Exists(heldMarker) && DateTime.UtcNow < deadline) Thread.Sleep(20);
        Assert.IsTrue(File.Exists(heldMarker), "the other process never took the lock");
        return process;
    }

    /// <summary>The weights as a local file the other process copies from, and the cache path both processes aim at.</summary>
    private static (string Source, string Final) OtherProcessFiles(string root)
    {
        string source = Path.Combine(root, "source.bin"), final = Path.Combine(root, "cache", Name);
        File.WriteAllBytes(source, Weights);
        Directory.CreateDirectory(Path.GetDirectoryName(final)!);
        return (source, final);
    }

    [TestMethod]
    public void SecondProcessWaitsForTheFirstAndUsesItsFile()
    {
        using var server = new LocalFileServer();
        using var dir = new TemporaryDirectory();
        var weights = Published(server);
        var (source, final) = OtherProcessFiles(dir.Path);
        // The other process "downloads" for 1.5 s under the lock, then moves a complete file into place, as Fetch does.
        using var other = HoldLock(final + ".lock", $"sleep 1.5; cp '{source}' '{final}.partial'; mv '{final}.partial' '{final}'", Path.Combine(dir.Path, "held"));
        var clock = Stopwatch.StartNew();
        string path = new WeightCache(Path.GetDirectoryName(final)) { LockTimeout = TimeSpan.FromSeconds(30) }.Fetch(weights);
        clock.Stop();
        Assert.IsTrue(other.WaitForExit(TimeSpan.FromSeconds(20)));
        Assert.AreEqual(final, path);
        Assert.IsTrue(clock.Elapsed > TimeSpan.FromSeconds(1), $"did not wait for the lock ({clock.Elapsed.TotalSeconds:0.00} s)");
        Assert.AreEqual(0, server.Requests.Count, "the second process downloaded again");
        CollectionAssert.AreEqual(Weights, File.ReadAllBytes(path));
        CollectionAssert.AreEqual(new[] { Name, Name + ".sha256" }, CacheFiles(Path.GetDirectoryName(final)!));
    }

    [TestMethod]
    public void SecondProcessResumesWhatADeadFirstProcessLeft()
    {
        using var server = new LocalFileServer();
        using var dir = new TemporaryDirectory();
        var weights = Published(server);
        var (source, final) = OtherProcessFiles(dir.Path);
        // The other process writes 1000 bytes and exits without finishing (killed mid-download).
        using var other = HoldLock(final + ".lock", $"sleep 0.5; head -c 1000 '{source}' > '{final}.partial'", Path.Combine(dir.Path, "held"));
        string path = new WeightCache(Path.GetDirectoryName(final)).Fetch(weights);
        Assert.IsTrue(other.WaitForExit(TimeSpan.FromSeconds(20)));
        CollectionAssert.AreEqual(Weights, File.ReadAllBytes(path));
        CollectionAssert.AreEqual(new[] { $"{Name} bytes=1000-" }, server.Requests.ToArray());
        CollectionAssert.AreEqual(new[] { Name, Name + ".sha256" }, CacheFiles(Path.GetDirectoryName(final)!));
    }
}
