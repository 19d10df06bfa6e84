namespace Microsoft.ML.EfficientNet.IO;

/// <summary>
/// Writes files so that readers never see a partial file: the bytes go to a temporary file in the same folder, which
/// is then renamed over the target (rename is atomic within a file system).
/// </summary>
internal static class AtomicFile
{
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
                write(stream);
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
