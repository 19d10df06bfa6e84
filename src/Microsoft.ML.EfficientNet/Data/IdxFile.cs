using System.Buffers.Binary;
using System.IO.Compression;

namespace Microsoft.ML.EfficientNet.Data;

/// <summary>
/// The IDX format of MNIST and Fashion-MNIST (optionally gzip-compressed): a big-endian magic number whose last byte is
/// the rank (type byte 0x08 = unsigned byte), one big-endian int32 per dimension, then the data.
/// </summary>
internal static class IdxFile
{
    /// <summary>Reads an unsigned-byte IDX file (gzip when the name ends with <c>.gz</c>).</summary>
    /// <param name="path">The file.</param>
    /// <returns>The dimensions and the data in row-major order.</returns>
    /// <exception cref="InvalidDataException">The file is not an unsigned-byte IDX file or is shorter than its header says.</exception>
    public static (int[] Dimensions, byte[] Data) Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var file = File.OpenRead(path);
        using Stream stream = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionMode.Decompress) : file;
        using var buffer = new MemoryStream();
        try
        {
            stream.CopyTo(buffer);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"'{path}' is not a valid gzip file ({e.Message}).", e);
        }
        var bytes = buffer.GetBuffer().AsSpan(0, (int)buffer.Length);
        if (bytes.Length < 4 || bytes[0] != 0 || bytes[1] != 0 || bytes[2] != 0x08)
            throw new InvalidDataException($"'{path}' is not an unsigned-byte IDX file (magic {Convert.ToHexString(bytes[..Math.Min(4, bytes.Length)])}).");
        int rank = bytes[3];
        var dimensions = new int[rank];
        for (int d = 0; d < rank; d++) dimensions[d] = BinaryPrimitives.ReadInt32BigEndian(bytes[(4 + 4 * d)..]);
        long count = dimensions.Aggregate(1L, (a, b) => a * b);
        int header = 4 + 4 * rank;
        if (bytes.Length - header < count)
            throw new InvalidDataException($"'{path}' declares {count} values but holds {bytes.Length - header}: the file is truncated.");
        return (dimensions, bytes.Slice(header, (int)count).ToArray());
    }
}
