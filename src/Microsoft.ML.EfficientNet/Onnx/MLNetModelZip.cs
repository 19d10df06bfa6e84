using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using Google.Protobuf;
using Onnx;

namespace Microsoft.ML.EfficientNet.Onnx;

/// <summary>
/// The EfficientNet classifier inside an ML.NET <c>model.zip</c> that this library's trainer wrote (<c>mlContext.Model.Save</c>
/// of the fitted pipeline): <c>ApplyOnnxModel</c> stores its ONNX model whole, in an entry named <c>OnnxModel</c>, as a
/// 32-bit little-endian length and the bytes. The trainer's graph ends in softmax <c>Score</c> and <c>PredictedLabel</c>
/// outputs with the ML.NET column as input (<see cref="OnnxModelEditing.AsMlNetClassifier"/>); its <c>logits</c> value
/// and metadata are still inside, so the graph is given back its <c>image</c> input and <c>logits</c> output, as exported.
/// </summary>
internal static class MLNetModelZip
{
    private const string OnnxEntryName = "OnnxModel";

    /// <summary>True when <paramref name="path"/> is a <c>.zip</c> archive with an <c>OnnxModel</c> entry.</summary>
    public static bool IsModelZip(string path)
    {
        if (!path.EndsWith(".zip", StringComparison.OrdinalIgnoreCase)) return false;
        try
        {
            using var zip = ZipFile.OpenRead(path);
            return zip.Entries.Any(e => e.Name == OnnxEntryName);
        }
        catch (InvalidDataException)
        {
            return false;
        }
    }

    /// <summary>The classifier of the ML.NET model at <paramref name="path"/>, with <c>image</c> input and <c>logits</c> output.</summary>
    /// <exception cref="InvalidDataException">The archive holds no ONNX model, several, or one without logits (a featurizer
    /// pipeline); the message names the file.</exception>
    public static byte[] ReadClassifier(string path)
    {
        using var zip = ZipFile.OpenRead(path);
        var entries = zip.Entries.Where(e => e.Name == OnnxEntryName).ToList();
        if (entries.Count != 1)
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                $"'{path}' holds {entries.Count} ONNX models ('{OnnxEntryName}' entries); an ML.NET model.zip written by the EfficientNet trainer holds exactly one."));
        byte[] stored;
        using (var stream = entries[0].Open())
        using (var copy = new MemoryStream())
        {
            stream.CopyTo(copy);
            stored = copy.ToArray();
        }
        int length = stored.Length >= 4 ? BinaryPrimitives.ReadInt32LittleEndian(stored) : -1;
        if (length != stored.Length - 4)
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                $"'{path}': entry '{entries[0].FullName}' is {stored.Length} bytes but records a model of {length} bytes; the archive is damaged."));
        byte[] onnx = stored.AsSpan(4).ToArray();
        var model = ModelProto.Parser.ParseFrom(onnx);
        var graph = model.Graph;
        if (graph.Output.Any(o => o.Name == OnnxExportOptions.LogitsOutputName)) return onnx;
        if (!graph.Node.Any(n => n.Output.Contains(OnnxExportOptions.LogitsOutputName)))
            throw new InvalidDataException($"'{path}' holds an ONNX model without logits (outputs: {string.Join(", ", graph.Output.Select(o => o.Name))}): " +
                "a featurizer pipeline, which cannot classify. Give the model.zip of an EfficientNet classifier, its run folder or its model.onnx.");
        if (graph.Input.Count != 1)
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture, $"'{path}': its ONNX model has {graph.Input.Count} inputs; the trainer's has one, the image."));
        var input = graph.Input[0];
        var dims = input.Type.TensorType.Shape.Dim;
        object batch = dims.Count > 0 && dims[0].DimParam is { Length: > 0 } symbol ? symbol : "batch";
        int classes = OnnxModelMetadata.Read(onnx).NumClasses;
        // ML.NET's outputs go: their label Reshape holds one row only, and a scoring session runs batches.
        graph.Output.Clear();
        graph.Output.Add(OnnxGraphBuilder.FloatTensor(OnnxExportOptions.LogitsOutputName, batch, classes));
        KeepOnlyWhatLogitsNeed(graph);
        var bytes = model.ToByteArray();
        return input.Name == OnnxExportOptions.ImageInputName ? bytes
            : OnnxModelEditing.RenameValues(bytes, new Dictionary<string, string> { [input.Name] = OnnxExportOptions.ImageInputName });
    }

    /// <summary>Removes the nodes and initializers the <c>logits</c> output does not depend on.</summary>
    private static void KeepOnlyWhatLogitsNeed(GraphProto graph)
    {
        var needed = new HashSet<string>(StringComparer.Ordinal) { OnnxExportOptions.LogitsOutputName };
        var kept = new List<NodeProto>();
        // Nodes are topologically ordered, so one backward pass finds every producer of a needed value.
        for (int i = graph.Node.Count - 1; i >= 0; i--)
        {
            var node = graph.Node[i];
            if (!node.Output.Any(needed.Contains)) continue;
            kept.Add(node);
            foreach (string input in node.Input) needed.Add(input);
        }
        kept.Reverse();
        graph.Node.Clear();
        graph.Node.Add(kept);
        var initializers = graph.Initializer.Where(t => needed.Contains(t.Name)).ToList();
        graph.Initializer.Clear();
        graph.Initializer.Add(initializers);
    }
}
