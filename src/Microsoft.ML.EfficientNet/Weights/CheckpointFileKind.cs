namespace Microsoft.ML.EfficientNet.Weights;

/// <summary>Recognises checkpoint formats by their first bytes, so a misnamed file is still read correctly.</summary>
internal static class CheckpointFileKind
{
    internal enum Kind { Unknown, TorchZip, TorchLegacy, SafeTensors, Onnx }

    internal static Kind Detect(string path)
    {
        // Before opening: a FIFO would block the open until a writer came.
        IO.FileStat.RequireRegular(path, "weights or model file");
        Span<byte> head = stackalloc byte[16];
        int read;
        using (var stream = File.OpenRead(path)) read = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        head = head[..read];
        if (read >= 4 && head[0] == (byte)'P' && head[1] == (byte)'K' && head[2] == 3 && head[3] == 4) return Kind.TorchZip;
        // Legacy torch.save: a pickle (PROTO 0x80, protocol ≤ 5) whose first object is the magic number 0x1950a86a20f9469cfc6c.
        if (read >= 2 && head[0] == 0x80 && head[1] <= 5) return Kind.TorchLegacy;
        // safetensors: little-endian u64 header length, then a JSON object.
        if (read >= 9 && head[8] == (byte)'{' && BitConverter.ToUInt64(head[..8]) < 100_000_000) return Kind.SafeTensors;
        // ONNX ModelProto usually starts with field 1 (ir_version, varint): byte 0x08.
        if (read >= 2 && head[0] == 0x08 && head[1] < 0x20) return Kind.Onnx;
        return Kind.Unknown;
    }
}
