using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Weights;

namespace Microsoft.ML.EfficientNet.Tests.Weights;

/// <summary>
/// Checkpoints built to attack or confuse the readers, which take files from anywhere: pickles calling code, NaN/Inf weights,
/// forged safetensors headers and forged zip sizes. Every file is made here, byte by byte.
/// </summary>
[TestClass]
public sealed class HostileCheckpointTests
{
    // --- pickles -------------------------------------------------------------------------------------------------

    /// <summary>Protocol-2 pickle pieces, as torch.save writes them.</summary>
    private static class Pickle
    {
        public static byte[] Global(string module, string name) => Encoding.ASCII.GetBytes($"c{module}\n{name}\n");

        public static byte[] Str(string s)
        {
            byte[] text = Encoding.UTF8.GetBytes(s);
            var b = new byte[5 + text.Length];
            b[0] = (byte)'X';
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(1), (uint)text.Length);
            text.CopyTo(b, 5);
            return b;
        }

        public static byte[] Int(byte v) => [(byte)'K', v];

        /// <summary>_rebuild_tensor_v2(storage '0' of FloatStorage, 0, (n,), (1,), False, OrderedDict()).</summary>
        public static byte[] Tensor(int n) =>
        [
            .. Global("torch._utils", "_rebuild_tensor_v2"),
            (byte)'(',
                (byte)'(', .. Str("storage"), .. Global("torch", "FloatStorage"), .. Str("0"), .. Str("cpu"), .. Int((byte)n), (byte)'t', (byte)'Q',
                .. Int(0), .. Int((byte)n), 0x85, .. Int(1), 0x85, 0x89, .. Global("collections", "OrderedDict"), (byte)')', (byte)'R',
            (byte)'t', (byte)'R',
        ];

        /// <summary>module.name(argument): the classic payload.</summary>
        public static byte[] Call(string module, string name, string argument) => [.. Global(module, name), .. Str(argument), 0x85, (byte)'R'];

        /// <summary>An OrderedDict of the given (key, value-bytes) entries.</summary>
        public static byte[] StateDict(params (string Key, byte[] Value)[] entries)
        {
            var body = new List<byte> { 0x80, 0x02 };
            body.AddRange(Global("collections", "OrderedDict"));
            body.AddRange([(byte)')', (byte)'R', (byte)'(']);
            foreach (var (key, value) in entries) { body.AddRange(Str(key)); body.AddRange(value); }
            body.AddRange([(byte)'u', (byte)'.']);
            return [.. body];
        }
    }

    /// <summary>A torch.save-style zip: archive/data.pkl, archive/data/0 (float32 storage), archive/byteorder.</summary>
    private static string TorchZip(string folder, string name, byte[] pickle, float[] storage)
    {
        string path = Path.Combine(folder, name);
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
        {
            void Add(string entry, byte[] bytes)
            {
                using var s = zip.CreateEntry(entry, CompressionLevel.NoCompression).Open();
                s.Write(bytes);
            }
            Add("archive/data.pkl", pickle);
            Add("archive/byteorder", "little"u8.ToArray());
            Add("archive/data/0", System.Runtime.InteropServices.MemoryMarshal.AsBytes(storage.AsSpan()).ToArray());
        }
        return path;
    }

    [TestMethod]
    public void HandMadeTorchZipIsReadSoTheAttacksBelowAreRealFiles()
    {
        using var dir = new TemporaryDirectory();
        string path = TorchZip(dir.Path, "ok.pth", Pickle.StateDict(("w", Pickle.Tensor(4))), [1, 2, 3, 4]);
        var stateDict = StateDict.Load(path);
        CollectionAssert.AreEqual(new float[] { 1, 2, 3, 4 }, stateDict["w"].Values);
    }

    [TestMethod]
    public void PosixSystemIsRefusedByNameAndNothingRuns()
    {
        using var dir = new TemporaryDirectory();
        string canary = Path.Combine(dir.Path, "CANARY");
        // The payload comes first, so a real unpickler runs it before it ever reaches a tensor.
        byte[] pickle = Pickle.StateDict(("evil", Pickle.Call("posix", "system", $"touch '{canary}'")), ("w", Pickle.Tensor(4)));
        string path = TorchZip(dir.Path, "evil.pth", pickle, [1, 2, 3, 4]);

        var error = Assert.ThrowsExactly<InvalidDataException>(() => StateDict.Load(path));
        StringAssert.Contains(error.Message, "'posix.system'");
        StringAssert.Contains(error.Message, path);
        StringAssert.Contains(error.Message, "Nothing from the file was run");
        Assert.ThrowsExactly<InvalidDataException>(() => EfficientNetCheckpoint.Load(path, EfficientNetVariant.B0));
        Assert.IsFalse(File.Exists(canary), "the payload ran");

        // Positive control where Python is at hand: the same bytes do run the payload under pickle.loads, so the
        // canary above is live and its absence means something.
        if (FindOnPath("python3") is { } python)
        {
            string pkl = Path.Combine(dir.Path, "data.pkl");
            File.WriteAllBytes(pkl, pickle);
            var start = new ProcessStartInfo(python) { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (string a in (string[])["-c", "import pickle,sys\ntry: pickle.loads(open(sys.argv[1],'rb').read())\nexcept Exception: pass", pkl])
                start.ArgumentList.Add(a);
            using var process = Process.Start(start)!;
            Assert.IsTrue(process.WaitForExit(TimeSpan.FromSeconds(30)));
            Assert.IsTrue(File.Exists(canary), "the control did not run the payload: the canary test proves nothing");
        }
    }

    [TestMethod]
    public void BuiltinsEvalAfterARealTensorIsRefusedByName()
    {
        using var dir = new TemporaryDirectory();
        byte[] pickle = Pickle.StateDict(("w", Pickle.Tensor(4)), ("evil", Pickle.Call("builtins", "eval", "print(1)")));
        string path = TorchZip(dir.Path, "eval.pth", pickle, [1, 2, 3, 4]);
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => StateDict.Load(path)).Message, "'builtins.eval'");
    }

    [TestMethod]
    public void UnlistedGlobalsAreRefusedEvenWhenNeverCalled()
    {
        // STACK_GLOBAL (protocol 4) naming a class that weights_only rejects, stored but never called.
        using var dir = new TemporaryDirectory();
        byte[] stackGlobal = [.. Pickle.Str("argparse"), .. Pickle.Str("Namespace"), 0x93];
        string path = TorchZip(dir.Path, "ns.pth", Pickle.StateDict(("w", Pickle.Tensor(4)), ("args", stackGlobal)), [1, 2, 3, 4]);
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => StateDict.Load(path)).Message, "'argparse.Namespace'");
    }

    [TestMethod]
    public void AllowListIsWithinWhatTorchWeightsOnlyAccepts()
    {
        // Each entry is a rebuild function, storage, dtype or container that torch/_weights_only_unpickler.py allows.
        foreach (string name in TorchCheckpointReader.AllowedGlobals)
            Assert.IsTrue(name.StartsWith("torch._utils._rebuild_", StringComparison.Ordinal) || name.StartsWith("torch.", StringComparison.Ordinal) && !name[6..].Contains('.') ||
                name is "collections.OrderedDict" or "_codecs.encode" or "builtins.bytearray" or "builtins.set", name);
        Assert.IsFalse(TorchCheckpointReader.AllowedGlobals.Contains("posix.system"));
        Assert.IsFalse(TorchCheckpointReader.AllowedGlobals.Contains("builtins.eval"));
        Assert.IsFalse(TorchCheckpointReader.AllowedGlobals.Contains("builtins.getattr"));
    }

    // --- NaN / Inf ----------------------------------------------------------------------------------------------

    [TestMethod]
    public void NaNAndInfAreRefusedNamingTheTensorAndTheCount()
    {
        var clean = StateDict.Load(Fixtures.Generated("b0.torchvision.pth"));
        const string weight = "features.0.0.weight", variance = "features.0.1.running_var";
        var poisoned = new StateDict(clean.Entries.Select(e =>
        {
            if (e.Key != weight && e.Key != variance) return e;
            float[] values = (float[])e.Value.Values.Clone();
            if (e.Key == weight) { values[0] = float.NaN; values[5] = float.NaN; values[7] = float.PositiveInfinity; }
            else values[3] = float.NegativeInfinity;
            return new KeyValuePair<string, WeightTensor>(e.Key, new WeightTensor(e.Value.Shape, values, e.Value.SourceType));
        }), "poisoned.pth");

        var error = Assert.ThrowsExactly<InvalidDataException>(() => EfficientNetCheckpoint.FromStateDict(poisoned, EfficientNetVariant.B0));
        StringAssert.Contains(error.Message, "poisoned.pth");
        StringAssert.Contains(error.Message, "in 2 tensor(s)");
        StringAssert.Contains(error.Message, $"'{weight}': 2 NaN and 1 Inf of 864 values");
        StringAssert.Contains(error.Message, $"'{variance}': 0 NaN and 1 Inf of 32 values");
        StringAssert.Contains(error.Message, "AllowNonFinite");

        var inspected = EfficientNetCheckpoint.FromStateDict(poisoned, EfficientNetVariant.B0, new CheckpointLoadOptions { AllowNonFinite = true });
        Assert.IsTrue(float.IsNaN(inspected.Weights[weight].Values[0]));
        Assert.IsNotNull(EfficientNetCheckpoint.FromStateDict(clean, EfficientNetVariant.B0));
    }

    // --- safetensors --------------------------------------------------------------------------------------------

    private static string SafeTensors(string folder, string header, int dataBytes, ulong? declaredHeaderLength = null)
    {
        string path = Path.Combine(folder, "forged.safetensors");
        byte[] json = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + json.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, declaredHeaderLength ?? (ulong)json.Length);
        json.CopyTo(bytes, 8);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static string SafeTensorsError(string header, int dataBytes, ulong? declaredHeaderLength = null)
    {
        using var dir = new TemporaryDirectory();
        string path = SafeTensors(dir.Path, header, dataBytes, declaredHeaderLength);
        var error = Assert.ThrowsExactly<InvalidDataException>(() => StateDict.Load(path), header);
        StringAssert.Contains(error.Message, path);
        return error.Message;
    }

    [TestMethod]
    public void SafetensorsHeaderLongerThanTheFileIsRefused()
    {
        using var dir = new TemporaryDirectory();
        string path = SafeTensors(dir.Path, "{}", 0, declaredHeaderLength: 1UL << 40);
        // StateDict.Load does not even take it for safetensors (its sniffing checks the length); the reader itself says why.
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => StateDict.Load(path)).Message, "neither a torch zip checkpoint");
        var error = Assert.ThrowsExactly<InvalidDataException>(() => SafeTensorsFile.Read(path));
        StringAssert.Contains(error.Message, $"'{path}' declares a {1UL << 40}-byte header but holds only 2 bytes");
    }

    [TestMethod]
    public void SafetensorsOffsetsOutsideTheDataAreRefused()
    {
        StringAssert.Contains(SafeTensorsError("""{"a":{"dtype":"F32","shape":[4],"data_offsets":[16,32]}}""", 16),
            "Tensor 'a'");
        StringAssert.Contains(SafeTensorsError("""{"a":{"dtype":"F32","shape":[4],"data_offsets":[16,32]}}""", 16),
            "data_offsets [16, 32], outside the file's 16 data bytes");
        StringAssert.Contains(SafeTensorsError("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}""", 16),
            "data_offsets [-4, 0]");
        StringAssert.Contains(SafeTensorsError("""{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}}""", 16),
            "data_offsets [8, 4]");
    }

    [TestMethod]
    public void SafetensorsOverlappingTensorsAreRefused()
    {
        string message = SafeTensorsError("""{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}""", 16);
        StringAssert.Contains(message, "Tensors 'a' (bytes 0–16) and 'b' (bytes 8–16)");
        StringAssert.Contains(message, "overlap");
    }

    [TestMethod]
    public void SafetensorsUnknownDtypeIsRefused()
    {
        StringAssert.Contains(SafeTensorsError("""{"a":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}}""", 8),
            "Tensor 'a'");
        StringAssert.Contains(SafeTensorsError("""{"a":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}}""", 8),
            "dtype C64, which has no float32 conversion");
    }

    [TestMethod]
    public void SafetensorsSizeFarBeyondTheFileIsRefusedWithoutAllocating()
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        // 2^62 elements: the byte count overflows a long; 2^40 elements: a plausible-looking terabyte.
        StringAssert.Contains(SafeTensorsError("""{"a":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,16]}}""", 16),
            "more bytes than any file holds (16 data bytes here)");
        StringAssert.Contains(SafeTensorsError("""{"a":{"dtype":"F32","shape":[1099511627776],"data_offsets":[0,4398046511104]}}""", 16),
            "outside the file's 16 data bytes");
        StringAssert.Contains(SafeTensorsError("""{"a":{"dtype":"F32","shape":[1099511627776],"data_offsets":[0,16]}}""", 16),
            "(4398046511104 bytes) but a 16-byte data range");
        Assert.IsTrue(GC.GetAllocatedBytesForCurrentThread() - before < 16 << 20, "a forged size was allocated");
    }

    [TestMethod]
    public void SafetensorsDuplicateNamesAreRefused()
    {
        StringAssert.Contains(SafeTensorsError("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8),
            "Tensor 'a' appears twice");
    }

    // --- zip sizes ----------------------------------------------------------------------------------------------

    [TestMethod]
    public void ZipEntryWithAHugeDeclaredSizeIsRefusedWithoutAllocatingIt()
    {
        using var dir = new TemporaryDirectory();
        string path = TorchZip(dir.Path, "forged.pth", Pickle.StateDict(("w", Pickle.Tensor(4))), [1, 2, 3, 4]);
        // Forge the uncompressed size (1 GiB) of archive/data/0 in its local header and in the central directory.
        byte[] bytes = File.ReadAllBytes(path);
        byte[] name = "archive/data/0"u8.ToArray();
        int patched = 0;
        for (int i = 0; i + 46 < bytes.Length; i++)
        {
            uint signature = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(i));
            if (signature == 0x04034b50 && bytes.AsSpan(i + 30, name.Length).SequenceEqual(name))
            { BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(i + 22), 1u << 30); patched++; }
            if (signature == 0x02014b50 && bytes.AsSpan(i + 46, name.Length).SequenceEqual(name))
            { BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(i + 24), 1u << 30); patched++; }
        }
        Assert.AreEqual(2, patched);
        File.WriteAllBytes(path, bytes);

        long before = GC.GetAllocatedBytesForCurrentThread();
        var error = Assert.ThrowsExactly<InvalidDataException>(() => StateDict.Load(path));
        Assert.IsTrue(GC.GetAllocatedBytesForCurrentThread() - before < 16 << 20, "the forged size was allocated");
        StringAssert.Contains(error.Message, "Entry 'archive/data/0'");
        StringAssert.Contains(error.Message, path);
        StringAssert.Contains(error.Message, $"declares {1 << 30:N0} bytes from 16 stored bytes");
    }

    [TestMethod]
    public void EntriesThatTogetherWouldInflateBeyondAnyCheckpointAreRefusedBeforeInflating()
    {
        // Three 800 KB storages, each declaring 800 MB: every one within deflate's 1032:1, 2.4 GB together.
        using var dir = new TemporaryDirectory();
        string path = Path.Combine(dir.Path, "bomb.pth");
        var random = new Random(5);
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
        {
            void Add(string entry, byte[] bytes)
            {
                using var s = zip.CreateEntry(entry, CompressionLevel.NoCompression).Open();
                s.Write(bytes);
            }
            Add("archive/data.pkl", Pickle.StateDict(("w", Pickle.Tensor(4))));
            Add("archive/byteorder", "little"u8.ToArray());
            for (int i = 0; i < 3; i++)
            {
                var bytes = new byte[800_000];
                random.NextBytes(bytes);
                Add($"archive/data/{i}", bytes);
            }
        }
        byte[] file = File.ReadAllBytes(path);
        int patched = 0;
        for (int e = 0; e < 3; e++)
        {
            byte[] name = Encoding.ASCII.GetBytes($"archive/data/{e}");
            for (int i = 0; i + 46 + name.Length < file.Length; i++)
            {
                uint signature = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(i));
                if (signature == 0x04034b50 && file.AsSpan(i + 30, name.Length).SequenceEqual(name) && file[i + 30 + name.Length - 1] == name[^1] && BinaryPrimitives.ReadUInt16LittleEndian(file.AsSpan(i + 26)) == name.Length)
                { BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(i + 22), 800_000_000u); patched++; }
                if (signature == 0x02014b50 && file.AsSpan(i + 46, name.Length).SequenceEqual(name) && BinaryPrimitives.ReadUInt16LittleEndian(file.AsSpan(i + 28)) == name.Length)
                { BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(i + 24), 800_000_000u); patched++; }
            }
        }
        Assert.AreEqual(6, patched);
        File.WriteAllBytes(path, file);

        long before = GC.GetAllocatedBytesForCurrentThread();
        var error = Assert.ThrowsExactly<InvalidDataException>(() => StateDict.Load(path));
        Assert.IsTrue(GC.GetAllocatedBytesForCurrentThread() - before < 16 << 20, "nothing was inflated");
        Assert.AreEqual($"'{path}' declares 2,400,000,000 bytes of tensor data in 3 entries, more than the limit of 2,147,483,648 (four times the largest EfficientNet checkpoint, V2-L's, about 0.5 GB); nothing was inflated.", error.Message);
    }

    [TestMethod]
    public void TensorShapeLargerThanItsStorageIsRefusedWithoutAllocating()
    {
        // _rebuild_tensor_v2(storage of 4 floats, 0, (2^30,), (1,), …): 4 GiB of floats claimed from 16 bytes.
        byte[] huge = [(byte)'J', 0, 0, 0, 0x40];
        byte[] tensor =
        [
            .. Pickle.Global("torch._utils", "_rebuild_tensor_v2"),
            (byte)'(',
                (byte)'(', .. Pickle.Str("storage"), .. Pickle.Global("torch", "FloatStorage"), .. Pickle.Str("0"), .. Pickle.Str("cpu"), .. Pickle.Int(4), (byte)'t', (byte)'Q',
                .. Pickle.Int(0), .. huge, 0x85, .. Pickle.Int(1), 0x85, 0x89, .. Pickle.Global("collections", "OrderedDict"), (byte)')', (byte)'R',
            (byte)'t', (byte)'R',
        ];
        using var dir = new TemporaryDirectory();
        string path = TorchZip(dir.Path, "huge-shape.pth", Pickle.StateDict(("w", tensor)), [1, 2, 3, 4]);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var error = Assert.ThrowsExactly<InvalidDataException>(() => StateDict.Load(path));
        Assert.IsTrue(GC.GetAllocatedBytesForCurrentThread() - before < 16 << 20, "the forged shape was allocated");
        StringAssert.Contains(error.Message, $"Tensor 'w' in '{path}' declares shape [{1 << 30}], more values than its 16-byte storage holds");
    }

    [TestMethod]
    public void ForgedTensorArgumentsAreAMalformedFileNotACrash()
    {
        // A string where the storage offset belongs.
        byte[] tensor =
        [
            .. Pickle.Global("torch._utils", "_rebuild_tensor_v2"),
            (byte)'(',
                (byte)'(', .. Pickle.Str("storage"), .. Pickle.Global("torch", "FloatStorage"), .. Pickle.Str("0"), .. Pickle.Str("cpu"), .. Pickle.Int(4), (byte)'t', (byte)'Q',
                .. Pickle.Str("zero"), .. Pickle.Int(4), 0x85, .. Pickle.Int(1), 0x85, 0x89, .. Pickle.Global("collections", "OrderedDict"), (byte)')', (byte)'R',
            (byte)'t', (byte)'R',
        ];
        using var dir = new TemporaryDirectory();
        string path = TorchZip(dir.Path, "forged-args.pth", Pickle.StateDict(("w", tensor)), [1, 2, 3, 4]);
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => StateDict.Load(path)).Message, $"'{path}' is a malformed torch checkpoint");
    }

    private static string? FindOnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Select(d => Path.Combine(d, program)).FirstOrDefault(File.Exists);
}
