using System.Security.Cryptography;

namespace Microsoft.ML.EfficientNet.IO;

/// <summary>SHA-256 digests as lowercase hex, the form published next to the torchvision weight files.</summary>
internal static class FileHash
{
    /// <summary>The SHA-256 of a file's bytes, read as a stream (weight files are hundreds of megabytes).</summary>
    /// <param name="path">The file.</param>
    public static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
