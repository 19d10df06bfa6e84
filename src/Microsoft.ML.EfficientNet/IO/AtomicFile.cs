using System.Runtime.InteropServices;

namespace Microsoft.ML.EfficientNet.IO;

/// <summary>
/// Writes files so that readers never see a partial file: the bytes go to a temporary file in the same folder, which
/// is flushed to disk and then renamed over the target (rename is atomic within a file system); on Linux the folder is
/// then flushed too (<see cref="FlushDirectory"/>), so the rename survives a power cut.
/// </summary>
internal static class AtomicFile
{
    private static readonly AsyncLocal<Func<string, Stream, Stream>?> Filter = new();

    /// <summary>
    /// Tests only: wraps the stream of every write made on this logical thread (given the final path and the temporary
    /// file's stream), for example with one that fails like a full disk after some bytes. Null (the default) writes
    /// straight to the file. This is the one place where checkpoint and export bytes reach the disk.
    /// </summary>
    internal static Func<string, Stream, Stream>? WriteFilterForTests
    {
        get => Filter.Value;
        set => Filter.Value = value;
    }

    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        var bytesCopy = bytes.ToArray();
        Write(path, stream => stream.Write(bytesCopy));
    }

    public static void Write(string path, Action<Stream> write)
    {
        string full = Path.GetFullPath(path);
        string? folder = Path.GetDirectoryName(full);
        if (!string.IsNullOrEmpty(folder)) Directory.CreateDirectory(folder);
        string temporary = TemporaryPathFor(full);
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                if (WriteFilterForTests is { } filter)
                {
                    var filtered = filter(full, stream);
                    write(filtered);
                    filtered.Flush();
                }
                else
                {
                    write(stream);
                }
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, full, overwrite: true);
            if (!string.IsNullOrEmpty(folder)) FlushDirectory(folder);
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
        }
    }

    /// <summary>
    /// Flushes <paramref name="folder"/>'s entries to disk, on Linux: the folder is opened read-only and
    /// <c>fsync</c>ed. Returns true when it was flushed, false where there is nothing to do or the file system cannot
    /// (another OS, a folder that cannot be opened, a file system without folder fsync).
    /// </summary>
    /// <remarks>
    /// A rename changes the folder, not the file. <c>Flush(flushToDisk: true)</c> (fsync on the file) makes the file's
    /// bytes durable, but its new name is an entry of the folder, which the kernel writes back on its own schedule
    /// (ext4 commits its journal every 5 s by default). A power cut before then can lose the rename: after the reboot the
    /// old file (or no file) is under the name, though the process had returned from the write and moved on, for example
    /// to delete the checkpoint the new <c>latest</c> replaced. fsync on the folder makes the rename durable before the
    /// write returns (POSIX leaves this to the folder's fsync; Linux file systems honour it). Windows and macOS are
    /// left as they are: NTFS journals renames, and .NET cannot open a folder there for this.
    /// </remarks>
    /// <exception cref="IOException">The disk reported an error while flushing (EIO, ENOSPC); the message names the folder.</exception>
    internal static bool FlushDirectory(string folder)
    {
        if (!OperatingSystem.IsLinux()) return false;
        int fd = Posix.Open(System.Text.Encoding.UTF8.GetBytes(folder + "\0"), Posix.ReadOnly | Posix.CloseOnExec);
        if (fd < 0) return false;
        try
        {
            if (Posix.Fsync(fd) == 0) return true;
            int error = Marshal.GetLastPInvokeError();
            if (error is Posix.InvalidArgument or Posix.ReadOnlyFileSystem or Posix.NotSupported) return false;
            throw new IOException($"Flushing the folder '{folder}' to disk after a rename failed: {Marshal.GetPInvokeErrorMessage(error)} (errno {error}).");
        }
        finally
        {
            _ = Posix.Close(fd);
        }
    }

    /// <summary>The three libc calls <see cref="FlushDirectory"/> needs (Linux; the constants are the same on x64 and arm64).</summary>
    private static class Posix
    {
        public const int ReadOnly = 0;
        public const int CloseOnExec = 0x80000;
        public const int InvalidArgument = 22;
        public const int ReadOnlyFileSystem = 30;
        public const int NotSupported = 95;

        // DllImport, not LibraryImport: a byte[] argument needs no unsafe code this way, and this library has none.
        [DllImport("libc", EntryPoint = "open", SetLastError = true)]
        public static extern int Open(byte[] path, int flags);

        [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
        public static extern int Fsync(int fd);

        [DllImport("libc", EntryPoint = "close", SetLastError = true)]
        public static extern int Close(int fd);
    }

    /// <summary>A unique temporary name beside <paramref name="path"/> (same folder, so the final rename is atomic).</summary>
    public static string TemporaryPathFor(string path) => path + ".tmp-" + Guid.NewGuid().ToString("N")[..8];
}
