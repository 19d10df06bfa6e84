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
        var shape = new TensorProto { Name = output + ".row_shape", DataType = (int)TensorProto.Types.DataType.Int64, RawData = ByteString.CopyFrom(BitConverter.GetBytes(-1L)) };
        shape.Dims.Add(1);
        graph.Initializer.Add(shape);
        var reshape = new NodeProto { OpType = "Reshape", Name = output + ".to_row" };
        reshape.Input.Add(batched);
        reshape.Input.Add(shape.Name);
        reshape.Output.Add(output);
        graph.Node.Add(reshape);
        var declared = graph.Output.Single(o => o.Name == output);
        declared.Type.TensorType.Shape.Dim.Clear();
        declared.Type.TensorType.Shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = width });
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
