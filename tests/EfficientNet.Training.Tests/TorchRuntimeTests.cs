using static TorchSharp.torch;

namespace EfficientNet.Training.Tests;

[TestClass]
public sealed class TorchRuntimeTests
{
    [TestMethod]
    public void LibTorchLoadsAndComputes()
    {
        // Fails when libLibTorchSharp.so cannot load (on Debian 12: the GLIBCXX_3.4.32 need must be weakened by the build).
        using var a = arange(6, dtype: ScalarType.Float32).reshape(2, 3);
        using var b = a.matmul(a.t());
        CollectionAssert.AreEqual(new float[] { 5, 14, 14, 50 }, b.data<float>().ToArray());
    }

    [TestMethod]
    public void BuildOutputCarriesOnlyLinuxNatives()
    {
        // One runtime identifier: natives sit beside the assemblies, not under runtimes/<rid>/ for every platform.
        string output = AppContext.BaseDirectory;
        Assert.IsTrue(File.Exists(Path.Combine(output, "libLibTorchSharp.so")));
        Assert.IsFalse(Directory.Exists(Path.Combine(output, "runtimes", "win-x64")));
    }
}
