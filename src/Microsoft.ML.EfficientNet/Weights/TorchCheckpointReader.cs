using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;

namespace Microsoft.ML.EfficientNet.Weights;

/// <summary>
/// Reads checkpoints written by <c>torch.save</c> since torch 1.6: a zip archive holding <c>{archive}/data.pkl</c>
/// (the pickled object tree, tensors as persistent ids) and one entry <c>{archive}/data/{key}</c> per storage.
/// </summary>
internal static class TorchCheckpointReader
{
    // Keys under which training scripts commonly nest the weights, most specific first (timm, torchvision references, Lightning).
    private static readonly string[] WrapperKeys = ["state_dict_ema", "model_ema", "state_dict", "model", "module", "net"];

    /// <summary>
    /// The globals a state-dict pickle may name: the intersection of what <c>torch.load(weights_only=True)</c> accepts
    /// (torch/_weights_only_unpickler.py, <c>_get_allowed_globals</c>, torch ≥ 2.4) and what this reader understands. Anything
    /// else (<c>posix.system</c>, <c>builtins.eval</c>, a model class) is refused by name.
    /// </summary>
    internal static readonly IReadOnlySet<string> AllowedGlobals = new HashSet<string>(StringComparer.Ordinal)
    {
        "collections.OrderedDict",
        "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor_v3",
        "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state",
        "torch.FloatStorage", "torch.DoubleStorage", "torch.HalfStorage", "torch.BFloat16Storage", "torch.LongStorage",
        "torch.IntStorage", "torch.ShortStorage", "torch.CharStorage", "torch.ByteStorage", "torch.BoolStorage", "torch.UntypedStorage",
        "torch.float32", "torch.float", "torch.float64", "torch.double", "torch.float16", "torch.half", "torch.bfloat16",
        "torch.int64", "torch.long", "torch.int32", "torch.int", "torch.int16", "torch.short", "torch.int8", "torch.uint8", "torch.bool",
        // Inert here (kept as PickleObject): protocol-2 bytes, bytearrays and sets in metadata.
        "_codecs.encode", "builtins.bytearray", "builtins.set",
    };

    private sealed record StorageRef(string Key, string DataType);

    private sealed record TensorRef(StorageRef Storage, long Offset, long[] Shape, long[] Stride);

    public static StateDict Read(string path)
    {
        ZipArchive zip;
        try
        {
            zip = ZipFile.OpenRead(path);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"'{path}' starts like a torch zip checkpoint but cannot be opened as one ({e.Message}). " +
                "The file is probably truncated: an interrupted download or copy. Fetch it again.", e);
        }

        using (zip)
        {
            var pickleEntry = zip.Entries.FirstOrDefault(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) && e.FullName.Count(c => c == '/') == 1)
                ?? throw new InvalidDataException($"'{path}' is a zip file but not a torch checkpoint: it has no '<archive>/data.pkl' entry.");
            string archive = pickleEntry.FullName[..^"data.pkl".Length];
            // Every entry's size is declared in the zip's directory: their total is checked before anything is inflated,
            // so a small file whose entries would inflate to gigabytes (each within deflate's ratio) costs nothing.
            var data = zip.Entries.Where(e => e.FullName.StartsWith(archive + "data/", StringComparison.Ordinal)).ToList();
            long declared = data.Sum(e => Math.Max(0, e.Length));
            if (declared > MaxTensorBytes)
                throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                    $"'{path}' declares {declared:N0} bytes of tensor data in {data.Count} entries, more than the limit of {MaxTensorBytes:N0} (four times the largest EfficientNet checkpoint, V2-L's, about 0.5 GB); nothing was inflated."));
            var byteOrder = zip.GetEntry(archive + "byteorder");
            if (byteOrder is not null && ReadAll(byteOrder, path).AsSpan().SequenceEqual("big"u8))
                throw new InvalidDataException($"'{path}' was saved on a big-endian machine; only little-endian checkpoints are supported.");

            var storages = new Dictionary<string, byte[]>();
            byte[] Storage(string key)
            {
                if (storages.TryGetValue(key, out var bytes)) return bytes;
                var entry = zip.GetEntry(archive + "data/" + key)
                    ?? throw new InvalidDataException($"'{path}' is missing storage entry '{archive}data/{key}': the file is incomplete.");
                return storages[key] = ReadAll(entry, path);
            }

            var reader = new PickleReader(PersistentLoad, Reduce, AllowedGlobals);
            var tensors = new List<KeyValuePair<string, WeightTensor>>();
            try
            {
                object? root = reader.Load(ReadAll(pickleEntry, path), path);
                var dict = Unwrap(root, path);
                foreach (var (key, value) in dict)
                {
                    if (value is TensorRef tensor) tensors.Add(new(key.ToString()!, Materialise(tensor, Storage(tensor.Storage.Key), path, key.ToString()!)));
                }
            }
            catch (Exception e) when (e is InvalidCastException or IndexOutOfRangeException or ArgumentOutOfRangeException or ArgumentException
                                          or NullReferenceException or OverflowException or FormatException)
            {
                // A forged pickle can put any value where a tensor's arguments belong: a malformed file, not a crash.
                throw new InvalidDataException($"'{path}' is a malformed torch checkpoint ({e.GetType().Name}: {e.Message}).", e);
            }
            if (tensors.Count == 0) throw new InvalidDataException($"'{path}' holds no tensors at its top level or under {string.Join("/", WrapperKeys)}.");
            return new StateDict(tensors, path);
        }

        object? PersistentLoad(object? id)
        {
            // ('storage', storage_type, key, location, numel)
            if (id is object?[] { Length: >= 3 } tuple && tuple[0] is "storage")
            {
                string type = tuple[1] switch
                {
                    PickleGlobal g => StorageDataType(g.Name, path),
                    _ => "float32",
                };
                return new StorageRef(tuple[2]!.ToString()!, type);
            }
            throw new InvalidDataException($"'{path}' refers to an unknown persistent object; it is not a plain torch checkpoint.");
        }

        object? Reduce(PickleGlobal callable, object?[] args)
        {
            switch (callable.FullName)
            {
                case "collections.OrderedDict":
                    return new OrderedDictionary<object, object?>();
                case "torch._utils._rebuild_tensor":
                case "torch._utils._rebuild_tensor_v2":
                case "torch._utils._rebuild_tensor_v3":
                {
                    var storage = args[0] as StorageRef ?? throw new InvalidDataException($"'{path}' rebuilds a tensor from something that is not a storage.");
                    if (callable.Name == "_rebuild_tensor_v3" && args.Length > 6 && args[6] is PickleGlobal dtype)
                        storage = storage with { DataType = TorchDataType(dtype.Name, path) };
                    return new TensorRef(storage, (long)args[1]!, Longs(args[2]), Longs(args[3]));
                }
                case "torch._utils._rebuild_parameter":
                case "torch._utils._rebuild_parameter_with_state":
                    return args[0];
                default:
                    return new PickleObject(callable, args);
            }
        }
    }

    private static OrderedDictionary<object, object?> Unwrap(object? root, string path)
    {
        if (root is not OrderedDictionary<object, object?> dict)
            throw new InvalidDataException($"'{path}' holds a pickled {(root as PickleObject)?.Type.FullName ?? root?.GetType().Name ?? "None"}, " +
                "not a state dict. Save model.state_dict(), not the model object.");
        if (dict.Values.Any(v => v is TensorRef)) return dict;
        foreach (string key in WrapperKeys)
        {
            if (dict.TryGetValue(key, out var inner) && inner is OrderedDictionary<object, object?> nested && nested.Values.Any(v => v is TensorRef))
                return nested;
        }
        return dict;
    }

    private static long[] Longs(object? tuple) =>
        tuple is object?[] items ? items.Select(i => Convert.ToInt64(i, System.Globalization.CultureInfo.InvariantCulture)).ToArray() : [];

    private static string StorageDataType(string storageClass, string path) => storageClass switch
    {
        "FloatStorage" => "float32",
        "DoubleStorage" => "float64",
        "HalfStorage" => "float16",
        "BFloat16Storage" => "bfloat16",
        "LongStorage" => "int64",
        "IntStorage" => "int32",
        "ShortStorage" => "int16",
        "CharStorage" => "int8",
        "ByteStorage" or "UntypedStorage" => "uint8",
        "BoolStorage" => "bool",
        _ => throw new InvalidDataException($"'{path}' has storage type {storageClass}, which has no float32 conversion."),
    };

    private static string TorchDataType(string dtype, string path) => dtype switch
    {
        "float32" or "float" => "float32",
        "float64" or "double" => "float64",
        "float16" or "half" => "float16",
        "bfloat16" => "bfloat16",
        "int64" or "long" => "int64",
        "int32" or "int" => "int32",
        "int16" or "short" => "int16",
        "int8" => "int8",
        "uint8" => "uint8",
        "bool" => "bool",
        _ => throw new InvalidDataException($"'{path}' has tensors of dtype {dtype}, which has no float32 conversion."),
    };

    private static WeightTensor Materialise(TensorRef tensor, byte[] storage, string path, string key)
    {
        int size = ElementSize(tensor.Storage.DataType);
        if (tensor.Shape.Any(d => d < 0) || tensor.Stride.Length != tensor.Shape.Length || tensor.Stride.Any(s => s < 0) || tensor.Offset < 0)
            throw new InvalidDataException($"Tensor '{key}' in '{path}' has an invalid layout (shape {Architecture.TensorSpec.FormatShape(tensor.Shape)}, " +
                $"stride {Architecture.TensorSpec.FormatShape(tensor.Stride)}, offset {tensor.Offset}): the file is damaged or forged.");
        long count;
        try { count = tensor.Shape.Aggregate(1L, (a, b) => checked(a * b)); }
        catch (OverflowException) { count = long.MaxValue; }
        // The shape comes from the pickle: check it against the storage really present before allocating for it.
        if (count > 0 && (count > storage.Length / Math.Max(1, size) && tensor.Stride.All(s => s != 0) || count > Array.MaxLength))
            throw new InvalidDataException($"Tensor '{key}' in '{path}' declares shape {Architecture.TensorSpec.FormatShape(tensor.Shape)}, more values than its " +
                $"{storage.Length:N0}-byte storage holds: the file is truncated, damaged or forged. Nothing was allocated for it.");
        var values = new float[count];
        // Walk the logical (row-major) index space through the strides; contiguous tensors take the fast path.
        long[] contiguous = ContiguousStrides(tensor.Shape);
        bool isContiguous = tensor.Stride.AsSpan().SequenceEqual(contiguous) || count <= 1;
        long maxOffset = tensor.Offset + (count == 0 ? 0 : tensor.Shape.Select((d, i) => (d - 1) * tensor.Stride[i]).Sum());
        if ((maxOffset + 1) * size > storage.Length && count > 0)
            throw new InvalidDataException($"Tensor '{key}' in '{path}' needs {(maxOffset + 1) * size} bytes of its storage but only {storage.Length} are present: the file is truncated.");
        var index = new long[tensor.Shape.Length];
        for (long i = 0; i < count; i++)
        {
            long element = tensor.Offset;
            if (isContiguous) element += i;
            else
            {
                for (int d = 0; d < index.Length; d++) element += index[d] * tensor.Stride[d];
                for (int d = index.Length - 1; d >= 0; d--)
                {
                    if (++index[d] < tensor.Shape[d]) break;
                    index[d] = 0;
                }
            }
            values[i] = ReadElement(storage, (int)(element * size), tensor.Storage.DataType);
        }
        return new WeightTensor(tensor.Shape, values, tensor.Storage.DataType);
    }

    internal static int ElementSize(string dataType) => dataType switch
    {
        "float64" or "int64" => 8,
        "float32" or "int32" => 4,
        "float16" or "bfloat16" or "int16" => 2,
        _ => 1,
    };

    internal static float ReadElement(byte[] bytes, int at, string dataType) => dataType switch
    {
        "float32" => BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(at)),
        "float64" => (float)BinaryPrimitives.ReadDoubleLittleEndian(bytes.AsSpan(at)),
        "float16" => (float)BinaryPrimitives.ReadHalfLittleEndian(bytes.AsSpan(at)),
        "bfloat16" => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(at)) << 16),
        "int64" => BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(at)),
        "int32" => BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(at)),
        "int16" => BinaryPrimitives.ReadInt16LittleEndian(bytes.AsSpan(at)),
        "int8" => (sbyte)bytes[at],
        _ => bytes[at],
    };

    private static long[] ContiguousStrides(long[] shape)
    {
        var strides = new long[shape.Length];
        long step = 1;
        for (int d = shape.Length - 1; d >= 0; d--) { strides[d] = step; step *= shape[d]; }
        return strides;
    }

    // Deflate cannot expand data more than about 1032:1; a larger declared size is a forged or damaged header.
    private const long MaxDeflateRatio = 1032;

    /// <summary>The most tensor data a torch checkpoint may declare, 2 GiB: four times the largest EfficientNet checkpoint (V2-L, about 0.5 GB).</summary>
    internal const long MaxTensorBytes = 2L << 30;

    /// <summary>An entry's bytes, once its declared size is known to fit the bytes stored (deflate's ratio) and one array.</summary>
    internal static byte[] ReadAll(ZipArchiveEntry entry, string path)
    {
        // The declared size comes from the zip's header: check it against the bytes really present before allocating it.
        long fileLength = new FileInfo(path).Length;
        if (entry.Length < 0 || entry.CompressedLength > fileLength ||
            entry.Length > Math.Min(Array.MaxLength, entry.CompressedLength * MaxDeflateRatio + 1024))
            throw new InvalidDataException($"Entry '{entry.FullName}' of '{path}' declares {entry.Length:N0} bytes from {entry.CompressedLength:N0} " +
                $"stored bytes in a {fileLength:N0}-byte file, more than that data can hold: its header is damaged or forged. Nothing was allocated for it.");
        try
        {
            using var stream = entry.Open();
            var bytes = new byte[entry.Length];
            stream.ReadExactly(bytes);
            return bytes;
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or IOException)
        {
            throw new InvalidDataException($"Entry '{entry.FullName}' of '{path}' cannot be read ({e.Message}): the file is damaged or truncated.", e);
        }
    }
}
