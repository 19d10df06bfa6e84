using Google.Protobuf;
using Onnx;

namespace Microsoft.ML.EfficientNet.Onnx;

/// <summary>Small edits of serialised ONNX models.</summary>
internal static class OnnxModelEditing
{
    /// <summary>
    /// Renames graph values (inputs, outputs and every node reference). ML.NET's <c>ApplyOnnxModel</c> binds columns to
    /// ONNX values by name, so the featurizer names the model's input and output after its own columns.
    /// </summary>
    public static byte[] RenameValues(byte[] model, IReadOnlyDictionary<string, string> renames)
    {
        var proto = ModelProto.Parser.ParseFrom(model);
        var graph = proto.Graph;
        string Map(string name) => renames.TryGetValue(name, out var renamed) ? renamed : name;
        foreach (var value in graph.Input.Concat(graph.Output)) value.Name = Map(value.Name);
        foreach (var node in graph.Node)
        {
            for (int i = 0; i < node.Input.Count; i++) node.Input[i] = Map(node.Input[i]);
            for (int i = 0; i < node.Output.Count; i++) node.Output[i] = Map(node.Output[i]);
        }
        return proto.ToByteArray();
    }

    /// <summary>
    /// Turns output <paramref name="output"/> [N, width] into [width] (a Reshape to [−1]). ML.NET's <c>ApplyOnnxModel</c>
    /// scores one row at a time and types an [N, width] output as <c>Vector&lt;Single, 1, width&gt;</c>; a rank-1 output
    /// gives the flat <c>Vector&lt;Single, width&gt;</c> users expect (dotnet/machinelearning#5254).
    /// </summary>
    public static byte[] WithRowOutput(byte[] model, string output, int width)
    {
        var proto = ModelProto.Parser.ParseFrom(model);
        var graph = proto.Graph;
        string batched = output + ".batched";
        foreach (var node in graph.Node)
        {
            for (int i = 0; i < node.Output.Count; i++) if (node.Output[i] == output) node.Output[i] = batched;
            for (int i = 0; i < node.Input.Count; i++) if (node.Input[i] == output) node.Input[i] = batched;
        }
        var builder = new OnnxGraphBuilder(graph);
        builder.NamedNode("Reshape", output, [batched, builder.Int64Initializer(output + ".row_shape", -1)]);
        var declared = graph.Output.Single(o => o.Name == output);
        declared.Type.TensorType.Shape.Dim.Clear();
        declared.Type.TensorType.Shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = width });
        return proto.ToByteArray();
    }

    /// <summary>
    /// Turns an exported classifier ([N,3,R,R] raw pixels → <c>logits</c> [N, classes]) into what an ML.NET scoring chain
    /// binds to, one row at a time: <paramref name="scoreName"/> = softmax of the logits as a flat [classes] vector, and
    /// <paramref name="predictedName"/> = the label of the highest score as a one-element string vector (a constant label
    /// table and Gather), which <c>MapValueToKey</c> turns into key-typed labels. One element, not a scalar: ML.NET's
    /// <c>ApplyOnnxModel</c> fails on rank-0 outputs, and ML.NET has no built-in transform from a vector to a scalar.
    /// </summary>
    public static byte[] AsMlNetClassifier(byte[] model, string inputName, string scoreName, string predictedName, IReadOnlyList<string> labels)
    {
        var proto = ModelProto.Parser.ParseFrom(RenameValues(model, new Dictionary<string, string> { [OnnxExportOptions.ImageInputName] = inputName }));
        var graph = proto.Graph;
        var logits = graph.Output.SingleOrDefault(o => o.Name == OnnxExportOptions.LogitsOutputName)
            ?? throw new ArgumentException("The model has no 'logits' output.", nameof(model));
        int classes = labels.Count;
        graph.Output.Clear();

        var builder = new OnnxGraphBuilder(graph);
        string labelTable = builder.StringInitializer(predictedName + ".labels", labels);
        string flat = builder.Int64Initializer(scoreName + ".flat_shape", -1);
        string single = builder.Int64Initializer(predictedName + ".single_shape", 1);
        string batchedScore = builder.Node("Softmax", scoreName + ".batched", [logits.Name], OnnxGraphBuilder.Int("axis", 1));
        builder.NamedNode("Reshape", scoreName, [batchedScore, flat]);
        string index = builder.Node("ArgMax", predictedName + ".index", [logits.Name], OnnxGraphBuilder.Int("axis", 1), OnnxGraphBuilder.Int("keepdims", 0));
        string batchedLabel = builder.Node("Gather", predictedName + ".batched", [labelTable, index], OnnxGraphBuilder.Int("axis", 0));
        builder.NamedNode("Reshape", predictedName, [batchedLabel, single]);

        graph.Output.Add(OnnxGraphBuilder.FloatTensor(scoreName, classes));
        graph.Output.Add(OnnxGraphBuilder.StringTensor(predictedName, 1));
        return proto.ToByteArray();
    }

    /// <summary>The names of the graph's inputs and outputs.</summary>
    public static (IReadOnlyList<string> Inputs, IReadOnlyList<string> Outputs) Signature(byte[] model)
    {
        var graph = ModelProto.Parser.ParseFrom(model).Graph;
        var initializers = graph.Initializer.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        return (graph.Input.Select(i => i.Name).Where(n => !initializers.Contains(n)).ToList(), graph.Output.Select(o => o.Name).ToList());
    }
}
