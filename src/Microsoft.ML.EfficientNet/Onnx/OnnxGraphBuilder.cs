using Google.Protobuf;
using Onnx;

namespace Microsoft.ML.EfficientNet.Onnx;

/// <summary>Appends nodes and initializers to an ONNX graph with unique, readable names: the exporter's new graphs and the edits of existing ones.</summary>
internal sealed class OnnxGraphBuilder
{
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly HashSet<string> _nodeNames = new(StringComparer.Ordinal);
    private int _counter;

    /// <summary>Starts an empty graph.</summary>
    public OnnxGraphBuilder() : this(new GraphProto())
    {
    }

    /// <summary>
    /// Appends to <paramref name="graph"/>. The values it already has (inputs, initializers, node outputs) and its node
    /// names are taken, so what is added never shadows them; its declared outputs are not, so an edit can produce them anew.
    /// </summary>
    public OnnxGraphBuilder(GraphProto graph)
    {
        Graph = graph;
        _names.UnionWith(graph.Input.Select(v => v.Name).Concat(graph.Initializer.Select(i => i.Name)).Concat(graph.Node.SelectMany(n => n.Output)));
        _nodeNames.UnionWith(graph.Node.Select(n => n.Name));
    }

    public GraphProto Graph { get; }

    /// <summary>Adds a float32 initializer stored as raw little-endian data.</summary>
    public string Initializer(string name, long[] dims, ReadOnlySpan<float> values)
    {
        name = Unique(name);
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values)) };
        tensor.Dims.AddRange(dims);
        Graph.Initializer.Add(tensor);
        return name;
    }

    /// <summary>Adds an initializer of any element type from its raw little-endian bytes (the quantiser's int8, uint8 and int32 tensors).</summary>
    public string RawInitializer(string name, TensorProto.Types.DataType type, long[] dims, ReadOnlySpan<byte> data)
    {
        name = Unique(name);
        var tensor = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(data) };
        tensor.Dims.AddRange(dims);
        Graph.Initializer.Add(tensor);
        return name;
    }

    /// <summary>Adds an int64 initializer (Slice starts/ends/axes).</summary>
    public string Int64Initializer(string name, params long[] values)
    {
        name = Unique(name);
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64, RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan())) };
        tensor.Dims.Add(values.Length);
        Graph.Initializer.Add(tensor);
        return name;
    }

    /// <summary>Adds a string initializer (a label table).</summary>
    public string StringInitializer(string name, IReadOnlyList<string> values)
    {
        name = Unique(name);
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.String };
        tensor.Dims.Add(values.Count);
        tensor.StringData.AddRange(values.Select(ByteString.CopyFromUtf8));
        Graph.Initializer.Add(tensor);
        return name;
    }

    /// <summary>Adds a node and returns the name of its (single) output.</summary>
    public string Node(string opType, string outputHint, IEnumerable<string> inputs, params AttributeProto[] attributes)
    {
        string output = Unique(outputHint);
        AddNode(opType, output, inputs, attributes);
        return output;
    }

    /// <summary>Adds a node whose output takes exactly <paramref name="output"/> (a graph output name).</summary>
    public void NamedNode(string opType, string output, IEnumerable<string> inputs, params AttributeProto[] attributes)
    {
        if (!_names.Add(output)) throw new InvalidOperationException($"ONNX value name '{output}' is used twice.");
        AddNode(opType, output, inputs, attributes);
    }

    public static AttributeProto Ints(string name, params long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }

    public static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Float(string name, float value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    /// <summary>A float32 tensor type with named (symbolic) or fixed dimensions.</summary>
    public static ValueInfoProto FloatTensor(string name, params object[] dims) => Tensor(name, TensorProto.Types.DataType.Float, dims);

    /// <summary>A string tensor type with named (symbolic) or fixed dimensions.</summary>
    public static ValueInfoProto StringTensor(string name, params object[] dims) => Tensor(name, TensorProto.Types.DataType.String, dims);

    private static ValueInfoProto Tensor(string name, TensorProto.Types.DataType type, object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (object d in dims)
        {
            shape.Dim.Add(d is string symbol
                ? new TensorShapeProto.Types.Dimension { DimParam = symbol }
                : new TensorShapeProto.Types.Dimension { DimValue = Convert.ToInt64(d, System.Globalization.CultureInfo.InvariantCulture) });
        }
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }

    private void AddNode(string opType, string output, IEnumerable<string> inputs, AttributeProto[] attributes)
    {
        // A new graph takes every name at the first try, so the exporter's node names are its running count.
        string name;
        do name = $"{opType}_{_counter++}";
        while (!_nodeNames.Add(name));
        var node = new NodeProto { OpType = opType, Name = name };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
    }

    private string Unique(string name)
    {
        string candidate = name;
        for (int i = 1; !_names.Add(candidate); i++) candidate = $"{name}_{i}";
        return candidate;
    }
}
