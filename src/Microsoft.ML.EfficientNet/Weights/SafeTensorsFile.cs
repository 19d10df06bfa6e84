using System.Buffers.Binary;
using System.Text.Json;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.IO;

namespace Microsoft.ML.EfficientNet.Weights;

/// <summary>
/// The safetensors format (Hugging Face): a little-endian u64 header length, a JSON header mapping each tensor name to
/// its dtype, shape and byte range, an optional <c>__metadata__</c> object of strings, then the raw little-endian data.
/// </summary>
public static class SafeTensorsFile
{
    private const string MetadataKey = "__metadata__";

    /// <summary>Reads every tensor of a safetensors file, converted to float32, in header order.</summary>
    /// <param name="path">The file.</param>
    /// <exception cref="InvalidDataException">The header is malformed or the data is shorter than the header says (truncated file).</exception>
    public static StateDict Read(string path)
    {
        byte[] file = File.ReadAllBytes(path);
        if (file.Length < 8) throw new InvalidDataException($"'{path}' is too short to be a safetensors file ({file.Length} bytes).");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(file);
        if (headerLength > (ulong)(file.Length - 8))
            throw new InvalidDataException($"'{path}' declares a {headerLength}-byte header but holds only {file.Length - 8} bytes after the length: the file is truncated.");
        int dataStart = 8 + (int)headerLength;
        using var header = ParseHeader(file.AsSpan(8, (int)headerLength), path);
        var tensors = new List<KeyValuePair<string, WeightTensor>>();
        // Header order is not specified by the format; sort by data offset, which is the writer's order.
        foreach (var property in header.RootElement.EnumerateObject()
                     .Where(p => p.Name != MetadataKey)
                     .OrderBy(p => p.Value.GetProperty("data_offsets")[0].GetInt64()))
        {
            string dtype = property.Value.GetProperty("dtype").GetString() ?? "";
            long[] shape = property.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            var offsets = property.Value.GetProperty("data_offsets");
            long begin = offsets[0].GetInt64(), end = offsets[1].GetInt64();
            string type = DataType(dtype, path, property.Name);
            int size = TorchCheckpointReader.ElementSize(type);
            long count = shape.Aggregate(1L, (a, b) => a * b);
            if (end - begin != count * size)
                throw new InvalidDataException($"Tensor '{property.Name}' in '{path}' has shape {TensorSpec.FormatShape(shape)} ({count * size} bytes) but a {end - begin}-byte data range.");
            if (dataStart + end > file.Length)
                throw new InvalidDataException($"Tensor '{property.Name}' in '{path}' ends at byte {dataStart + end} but the file has {file.Length} bytes: the file is truncated.");
            var values = new float[count];
            if (type == "float32")
                System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(file.AsSpan(dataStart + (int)begin, (int)(count * 4))).CopyTo(values);
            else
                for (long i = 0; i < count; i++) values[i] = TorchCheckpointReader.ReadElement(file, dataStart + (int)(begin + i * size), type);
            tensors.Add(new(property.Name, new WeightTensor(shape, values, type)));
        }
        return new StateDict(tensors, path);
    }

    /// <summary>Reads only the <c>__metadata__</c> strings of a safetensors file.</summary>
    /// <param name="path">The file.</param>
    public static IReadOnlyDictionary<string, string> ReadMetadata(string path)
    {
        using var stream = File.OpenRead(path);
        Span<byte> length = stackalloc byte[8];
        stream.ReadExactly(length);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(length);
        if (headerLength > (ulong)(stream.Length - 8)) throw new InvalidDataException($"'{path}' is truncated: its header is incomplete.");
        var bytes = new byte[headerLength];
        stream.ReadExactly(bytes);
        using var header = ParseHeader(bytes, path);
        var result = new Dictionary<string, string>();
        if (header.RootElement.TryGetProperty(MetadataKey, out var metadata))
            foreach (var p in metadata.EnumerateObject()) result[p.Name] = p.Value.GetString() ?? "";
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
