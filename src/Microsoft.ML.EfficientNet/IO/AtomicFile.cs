namespace Microsoft.ML.EfficientNet.IO;

/// <summary>
/// Writes files so that readers never see a partial file: the bytes go to a temporary file in the same folder, which
/// is then renamed over the target (rename is atomic within a file system).
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
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
        }
    }

    /// <summary>A unique temporary name beside <paramref name="path"/> (same folder, so the final rename is atomic).</summary>
    public static string TemporaryPathFor(string path) => path + ".tmp-" + Guid.NewGuid().ToString("N")[..8];
}
