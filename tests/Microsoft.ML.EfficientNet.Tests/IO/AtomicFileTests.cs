using Microsoft.ML.EfficientNet.IO;

namespace Microsoft.ML.EfficientNet.Tests.IO;

/// <summary>
/// <see cref="AtomicFile"/>: the write lands whole under its name, replaces the old file, leaves no temporary file, and
/// (Linux) the folder is fsynced after the rename. A power cut cannot be simulated in a test; that the folder flush
/// happens was checked with strace (docs/RELIABILITY.md).
/// </summary>
[TestClass]
public sealed class AtomicFileTests
{
    [TestMethod]
    public void AWriteReplacesTheFileWholeAndLeavesNoTemporaryFile()
    {
        using var dir = new TemporaryDirectory();
        string path = Path.Combine(dir.Path, "nested", "latest");
        AtomicFile.WriteAllBytes(path, "epoch-0001"u8);
        Assert.AreEqual("epoch-0001", File.ReadAllText(path), "the folder is created and the file is in place");
        AtomicFile.Write(path, stream => stream.Write("epoch-0002"u8));
        Assert.AreEqual("epoch-0002", File.ReadAllText(path), "the rename replaced the old file");
        CollectionAssert.AreEqual(new[] { path }, Directory.GetFileSystemEntries(Path.GetDirectoryName(path)!), "no temporary file is left");

        // A write that fails leaves the old file and no temporary one.
        Assert.ThrowsExactly<InvalidOperationException>(() => AtomicFile.Write(path, stream =>
        {
            stream.Write("half"u8);
            throw new InvalidOperationException("the writer failed");
        }));
        Assert.AreEqual("epoch-0002", File.ReadAllText(path));
        Assert.AreEqual(1, Directory.GetFileSystemEntries(Path.GetDirectoryName(path)!).Length);
    }

    [TestMethod]
    public void TheFolderIsFlushedOnLinuxAndNothingIsDoneElsewhere()
    {
        using var dir = new TemporaryDirectory();
        // On Linux a real folder opens and fsyncs (the temporary folder's file system supports it); elsewhere nothing is done.
        Assert.AreEqual(OperatingSystem.IsLinux(), AtomicFile.FlushDirectory(dir.Path));
        // A folder that cannot be opened is not an error: there is nothing to flush.
        Assert.IsFalse(AtomicFile.FlushDirectory(Path.Combine(dir.Path, "missing")));
    }
}
