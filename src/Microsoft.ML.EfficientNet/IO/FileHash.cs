using System.Security.Cryptography;
using System.Text;
using Microsoft.ML.EfficientNet.Weights;

namespace Microsoft.ML.EfficientNet;

/// <summary>SHA-256 digests as lowercase hex, the form published next to the torchvision weight files.</summary>
internal static class FileHash
{
    public static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    public static string Sha256(StateDict weights)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (key, tensor) in weights.Entries)
        {
            hash.AppendData(Encoding.UTF8.GetBytes(key));
            hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(tensor.Values.AsSpan()));
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}
