using Microsoft.ML.EfficientNet.Weights;

namespace Microsoft.ML.EfficientNet.Onnx;

/// <summary>
/// The ONNX models a process has exported for featurizers, keyed by what determines the file: the SHA-256 of the weights'
/// canonical keys and float32 values, the network (variant, class count, parameters), the weights' conventions and
/// origin (both recorded in the metadata), whether the head was replaced, the outputs and the resolution. A second
/// <c>Fit</c> of the same weights then reuses the export instead of writing the graph again. The few most recently used
/// models are kept, at most <see cref="Capacity"/> of them and at most <see cref="MaxBytes"/> in all (about 21 MB each for
/// B0, 267 MB for B7), so a process that fits large variants does not hold a gigabyte of models it no longer uses.
/// </summary>
internal static class OnnxExportCache
{
    /// <summary>Models kept; the least recently used goes first.</summary>
    public const int Capacity = 4;

    /// <summary>Bytes kept in all; a model larger than this is not cached. 320 MB: one B7, or several small models.</summary>
    public const long MaxBytes = 320L * 1024 * 1024;

    private static readonly LinkedList<(string Key, byte[] Model)> Entries = new();
    private static readonly Lock Gate = new();

    /// <summary>
    /// The exported model of <paramref name="checkpoint"/> with <paramref name="outputs"/> and <paramref name="resolution"/>,
    /// from the cache or exported now. The array is shared: callers must not change it.
    /// </summary>
    public static byte[] GetOrExport(EfficientNetCheckpoint checkpoint, OnnxOutputs outputs, int? resolution)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        string key = Key(checkpoint, outputs, resolution);
        lock (Gate)
        {
            for (var node = Entries.First; node is not null; node = node.Next)
            {
                if (node.Value.Key != key) continue;
                Entries.Remove(node);
                Entries.AddFirst(node);
                return node.Value.Model;
            }
        }
        byte[] model = EfficientNetOnnxExporter.Export(checkpoint, new OnnxExportOptions { Outputs = outputs, Resolution = resolution });
        lock (Gate)
        {
            if (model.Length <= MaxBytes && !Entries.Any(e => e.Key == key)) Entries.AddFirst((key, model));
            while (Entries.Count > Capacity || Entries.Sum(e => (long)e.Model.Length) > MaxBytes) Entries.RemoveLast();
        }
        return model;
    }

    /// <summary>Drops every cached model (tests; memory).</summary>
    public static void Clear()
    {
        lock (Gate) Entries.Clear();
    }

    /// <summary>How many models are cached now.</summary>
    public static int Count
    {
        get
        {
            lock (Gate) return Entries.Count;
        }
    }

    private static string Key(EfficientNetCheckpoint checkpoint, OnnxOutputs outputs, int? resolution)
    {
        var spec = checkpoint.Spec;
        return string.Join('|', checkpoint.Weights.Sha256(), spec.Variant.Name, spec.Variant.Resolution, spec.NumClasses, spec.ParameterCount,
            checkpoint.Source, checkpoint.Origin, checkpoint.HeadReplaced, outputs, resolution?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "");
    }
}
