using System.Buffers.Binary;
using System.Text.Json;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.IO;

namespace Microsoft.ML.EfficientNet.Weights;

/// <summary>
/// The safetensors format (Hugging Face): a little-endian u64 header length, a JSON header mapping each tensor name to
/// its dtype, shape and byte range, an optional <c>__metadata__</c> object of strings, then the raw little-endian data.
/// </summary>
internal static class SafeTensorsFile
{
    private const string MetadataKey = "__metadata__";

    /// <summary>
    /// Reads every tensor of a safetensors file, converted to float32, in header order, with the file's
    /// <c>__metadata__</c> strings in <see cref="StateDict.Metadata"/>.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <exception cref="InvalidDataException">The header is malformed, names a tensor twice, has an unknown dtype, offsets
    /// outside the data or overlapping, or sizes that disagree with the shapes; or the data is shorter than the header says
    /// (truncated file); or <c>__metadata__</c> is not an object of strings. The message names the tensor or key and the file.</exception>
    public static StateDict Read(string path)
    {
        byte[] file = IO.FileStat.ReadAllBytes(path, "safetensors file");
        if (file.Length < 8) throw new InvalidDataException($"'{path}' is too short to be a safetensors file ({file.Length} bytes).");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(file);
        if (headerLength > (ulong)(file.Length - 8))
            throw new InvalidDataException($"'{path}' declares a {headerLength}-byte header but holds only {file.Length - 8} bytes after the length: the file is truncated.");
        int dataStart = 8 + (int)headerLength;
        using var header = ParseHeader(file.AsSpan(8, (int)headerLength), path);
        long dataLength = file.Length - dataStart;
        var entries = new List<(string Name, string Type, long[] Shape, long Begin, long End)>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        if (header.RootElement.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"The safetensors header of '{path}' is a JSON {header.RootElement.ValueKind}, not an object.");
        foreach (var property in header.RootElement.EnumerateObject().Where(p => p.Name != MetadataKey))
        {
            // JSON allows a repeated name; the format does not, and which copy wins would be arbitrary.
            if (!names.Add(property.Name))
                throw new InvalidDataException($"Tensor '{property.Name}' appears twice in the safetensors header of '{path}'.");
            string dtype; long[] shape; long begin, end;
            try
            {
                dtype = property.Value.GetProperty("dtype").GetString() ?? "";
                shape = property.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
                var offsets = property.Value.GetProperty("data_offsets");
                if (offsets.GetArrayLength() != 2) throw new FormatException("data_offsets must hold two numbers");
                begin = offsets[0].GetInt64();
                end = offsets[1].GetInt64();
            }
            catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException)
            {
                throw new InvalidDataException($"Tensor '{property.Name}' in the safetensors header of '{path}' lacks a valid dtype, shape or data_offsets ({e.Message}).", e);
            }
            string type = DataType(dtype, path, property.Name);
            int size = TorchCheckpointReader.ElementSize(type);
            if (shape.Any(d => d < 0))
                throw new InvalidDataException($"Tensor '{property.Name}' in '{path}' has a negative dimension in shape {TensorSpec.FormatShape(shape)}.");
            // Checked: a forged shape must not wrap around to a small, plausible size.
            long bytes;
            try { bytes = checked(shape.Aggregate(1L, (a, b) => checked(a * b)) * size); }
            catch (OverflowException)
            {
                throw new InvalidDataException($"Tensor '{property.Name}' in '{path}' declares shape {TensorSpec.FormatShape(shape)}, more bytes than any file holds ({dataLength} data bytes here).");
            }
            if (begin < 0 || end < begin || end > dataLength)
                throw new InvalidDataException($"Tensor '{property.Name}' in '{path}' has data_offsets [{begin}, {end}], outside the file's {dataLength} data bytes: " +
                    (end > dataLength ? "the file is truncated or the header is damaged." : "the header is damaged."));
            if (end - begin != bytes)
                throw new InvalidDataException($"Tensor '{property.Name}' in '{path}' has shape {TensorSpec.FormatShape(shape)} ({bytes} bytes) but a {end - begin}-byte data range.");
            entries.Add((property.Name, type, shape, begin, end));
        }
        // Header order is not specified by the format; sort by data offset, which is the writer's order.
        entries.Sort((a, b) => a.Begin.CompareTo(b.Begin));
        for (int i = 1; i < entries.Count; i++)
        {
            if (entries[i].Begin < entries[i - 1].End)
                throw new InvalidDataException($"Tensors '{entries[i - 1].Name}' (bytes {entries[i - 1].Begin}–{entries[i - 1].End}) and '{entries[i].Name}' " +
                    $"(bytes {entries[i].Begin}–{entries[i].End}) in '{path}' overlap: the header is damaged or forged.");
        }
        var tensors = new List<KeyValuePair<string, WeightTensor>>();
        foreach (var (name, type, shape, begin, end) in entries)
        {
            int size = TorchCheckpointReader.ElementSize(type);
            long count = (end - begin) / size;
            var values = new float[count];
            if (type == "float32")
                System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(file.AsSpan(dataStart + (int)begin, (int)(count * 4))).CopyTo(values);
            else
                for (long i = 0; i < count; i++) values[i] = TorchCheckpointReader.ReadElement(file, dataStart + (int)(begin + i * size), type);
            tensors.Add(new(name, new WeightTensor(shape, values, type)));
        }
        return new StateDict(tensors, path) { Metadata = MetadataOf(header.RootElement, path) };
    }

    /// <summary>Reads only the <c>__metadata__</c> strings of a safetensors file (empty when it has none).</summary>
    /// <param name="path">The file.</param>
    /// <exception cref="InvalidDataException">The header is not JSON, or <c>__metadata__</c> is not an object of strings; the
    /// message names the file (and the key).</exception>
    public static IReadOnlyDictionary<string, string> ReadMetadata(string path)
    {
        IO.FileStat.RequireRegular(path, "safetensors file");
        using var stream = File.OpenRead(path);
        Span<byte> length = stackalloc byte[8];
        stream.ReadExactly(length);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(length);
        if (headerLength > (ulong)(stream.Length - 8)) throw new InvalidDataException($"'{path}' is truncated: its header is incomplete.");
        var bytes = new byte[headerLength];
        stream.ReadExactly(bytes);
        using var header = ParseHeader(bytes, path);
        if (header.RootElement.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"The safetensors header of '{path}' is a JSON {header.RootElement.ValueKind}, not an object.");
        return MetadataOf(header.RootElement, path);
    }

    /// <summary>The header's <c>__metadata__</c>: the format allows only string values, and a reader that guessed at others would hide damage.</summary>
    private static Dictionary<string, string> MetadataOf(JsonElement header, string path)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!header.TryGetProperty(MetadataKey, out var metadata)) return result;
        if (metadata.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"'{MetadataKey}' in the safetensors header of '{path}' is a JSON {metadata.ValueKind}, not an object of strings.");
        foreach (var p in metadata.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.String)
                throw new InvalidDataException($"'{MetadataKey}' key '{p.Name}' in the safetensors header of '{path}' is a JSON {p.Value.ValueKind}, not a string.");
            result[p.Name] = p.Value.GetString()!;
        }
        return result;
    }

    /// <summary>Writes tensors as float32 safetensors, in the given order, atomically (temporary file, then rename).</summary>
    /// <param name="path">The file to write.</param>
    /// <param name="tensors">Name and tensor pairs.</param>
    /// <param name="metadata">Optional string metadata stored under <c>__metadata__</c>.</param>
    public static void Write(string path, IEnumerable<KeyValuePair<string, WeightTensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = tensors.ToList();
        using var headerStream = new MemoryStream();
        using (var json = new Utf8JsonWriter(headerStream))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(MetadataKey);
                foreach (var (key, value) in metadata) json.WriteString(key, value);
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var (name, tensor) in list)
            {
                json.WriteStartObject(name);
                json.WriteString("dtype", "F32");
                json.WriteStartArray("shape");
                foreach (long d in tensor.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                offset += tensor.ElementCount * 4;
                json.WriteNumberValue(offset);
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        // Pad the header with spaces so the data starts 8-byte aligned, as the reference writer does.
        while (headerStream.Length % 8 != 0) headerStream.WriteByte((byte)' ');

        AtomicFile.Write(path, file =>
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)headerStream.Length);
            file.Write(length);
            headerStream.Position = 0;
            headerStream.CopyTo(file);
            foreach (var (_, tensor) in list)
                file.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(tensor.Values.AsSpan()));
        });
    }

    private static JsonDocument ParseHeader(ReadOnlySpan<byte> bytes, string path)
    {
        try
        {
            var reader = new Utf8JsonReader(bytes.TrimEnd((byte)' '));
            return JsonDocument.ParseValue(ref reader);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"The safetensors header of '{path}' is not valid JSON ({e.Message}).", e);
        }
    }

    private static string DataType(string dtype, string path, string name) => dtype switch
    {
        "F32" => "float32",
        "F64" => "float64",
        "F16" => "float16",
        "BF16" => "bfloat16",
        "I64" => "int64",
        "I32" => "int32",
        "I16" => "int16",
        "I8" => "int8",
        "U8" => "uint8",
        "BOOL" => "bool",
        _ => throw new InvalidDataException($"Tensor '{name}' in '{path}' has dtype {dtype}, which has no float32 conversion."),
    };
}
