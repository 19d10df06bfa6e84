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

    /// <summary>
    /// The exported classifier back from a model <see cref="AsMlNetClassifier"/> made (as an ML.NET <c>model.zip</c> holds
    /// it): the nodes and initializers that compute <c>logits</c>, that one output [N, <paramref name="classes"/>], and the
    /// input named <c>image</c> again. A model that already outputs <c>logits</c>, or computes none, is returned as it is.
    /// </summary>
    internal static byte[] AsExportedClassifier(byte[] model, int classes)
    {
        var proto = ModelProto.Parser.ParseFrom(model);
        var graph = proto.Graph;
        string logits = OnnxExportOptions.LogitsOutputName;
        if (graph.Output.Any(o => o.Name == logits) || !graph.Node.Any(n => n.Output.Contains(logits))) return model;
        var needed = new HashSet<string>(StringComparer.Ordinal) { logits };
        var kept = new List<NodeProto>();
        foreach (var node in graph.Node.Reverse())
        {
            if (!node.Output.Any(needed.Contains)) continue;
            kept.Add(node);
            foreach (string value in node.Input) needed.Add(value);
        }
        kept.Reverse();
        graph.Node.Clear();
        graph.Node.Add(kept);
        var initializers = graph.Initializer.Where(i => needed.Contains(i.Name)).ToList();
        graph.Initializer.Clear();
        graph.Initializer.Add(initializers);
        graph.Output.Clear();
        graph.Output.Add(OnnxGraphBuilder.FloatTensor(logits, "N", classes));
        var names = initializers.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        string input = graph.Input.First(i => !names.Contains(i.Name)).Name;
        return RenameValues(proto.ToByteArray(), new Dictionary<string, string> { [input] = OnnxExportOptions.ImageInputName });
    }

    /// <summary>
    /// Adds the last feature map, the input of the global average pool before the classifier ([N, C, h, w], the head's
    /// 1×1 conv + folded BN + SiLU), as graph output <paramref name="featureMapName"/>, and reads that classifier's weights
    /// from the initializers. With them a class activation map needs no gradients: for the pool + linear head,
    /// logit_c = mean over (y, x) of Σ_k W[c,k]·A_k(y, x) + b_c. The head is found by walking back from
    /// <paramref name="logitsName"/>: <c>Gemm</c> (or <c>MatMul</c> + <c>Add</c>) ← <c>Flatten</c>/<c>Reshape</c> ←
    /// <c>GlobalAveragePool</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The graph's logits do not come from a pool + linear head of that shape.</exception>
    public static (byte[] Model, ClassifierHead Head) WithFeatureMapOutput(byte[] model, string logitsName, string featureMapName)
    {
        var proto = ModelProto.Parser.ParseFrom(model);
        var graph = proto.Graph;
        var producers = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        foreach (var node in graph.Node) foreach (var output in node.Output) producers[output] = node;
        var initializers = graph.Initializer.ToDictionary(i => i.Name, StringComparer.Ordinal);
        ArgumentException Fail(string why) => new($"The model's '{logitsName}' does not come from a global-average-pool + linear head ({why}); a class activation map needs one.", nameof(model));
        NodeProto Producer(string value) => producers.TryGetValue(value, out var n) ? n : throw Fail($"nothing computes '{value}'");

        var linear = Producer(logitsName);
        string pooledFlat, weightName;
        string? biasName;
        bool transposed;
        if (linear.OpType == "Gemm")
        {
            long Attribute(string name, long fallback) => linear.Attribute.FirstOrDefault(a => a.Name == name)?.I ?? fallback;
            float FloatAttribute(string name) => linear.Attribute.FirstOrDefault(a => a.Name == name)?.F ?? 1f;
            if (Attribute("transA", 0) != 0 || FloatAttribute("alpha") != 1f || FloatAttribute("beta") != 1f) throw Fail("a Gemm with transA, alpha or beta");
            (pooledFlat, weightName, biasName, transposed) = (linear.Input[0], linear.Input[1], linear.Input.Count > 2 ? linear.Input[2] : null, Attribute("transB", 0) != 0);
        }
        else if (linear.OpType == "Add" && producers.TryGetValue(linear.Input[0], out var matMul) && matMul.OpType == "MatMul")
        {
            (pooledFlat, weightName, biasName, transposed) = (matMul.Input[0], matMul.Input[1], linear.Input[1], false);
        }
        else if (linear.OpType == "MatMul")
        {
            (pooledFlat, weightName, biasName, transposed) = (linear.Input[0], linear.Input[1], null, false);
        }
        else
        {
            throw Fail($"it is computed by {linear.OpType}");
        }

        var flatten = Producer(pooledFlat);
        if (flatten.OpType is not ("Flatten" or "Reshape" or "Squeeze")) throw Fail($"the classifier's input comes from {flatten.OpType}, not Flatten");
        var pool = Producer(flatten.Input[0]);
        if (pool.OpType != "GlobalAveragePool") throw Fail($"the classifier's input is pooled by {pool.OpType}, not GlobalAveragePool");
        string featureMap = pool.Input[0];

        if (!initializers.TryGetValue(weightName, out var weightTensor)) throw Fail($"its weight '{weightName}' is not an initializer");
        var w = FloatValues(weightTensor!);
        if (weightTensor!.Dims.Count != 2) throw Fail($"its weight has {weightTensor.Dims.Count} dimensions");
        int classes = (int)(transposed ? weightTensor.Dims[0] : weightTensor.Dims[1]);
        int channels = (int)(transposed ? weightTensor.Dims[1] : weightTensor.Dims[0]);
        var weight = new float[classes * channels];
        for (int c = 0; c < classes; c++)
            for (int k = 0; k < channels; k++) weight[c * channels + k] = transposed ? w[c * channels + k] : w[k * classes + c];
        var bias = new float[classes];
        if (biasName is not null)
        {
            if (!initializers.TryGetValue(biasName, out var biasTensor)) throw Fail($"its bias '{biasName}' is not an initializer");
            var b = FloatValues(biasTensor!);
            if (b.Length == classes) b.CopyTo(bias, 0);
            else if (b.Length == 1) Array.Fill(bias, b[0]);
            else throw Fail($"its bias has {b.Length} values for {classes} classes");
        }

        if (graph.Output.Any(o => o.Name == featureMapName)) throw Fail($"it already has an output '{featureMapName}'");
        // Identity gives the map the requested name without renaming the value other nodes read.
        new OnnxGraphBuilder(graph).NamedNode("Identity", featureMapName, [featureMap]);
        graph.Output.Add(OnnxGraphBuilder.FloatTensor(featureMapName, "batch", channels, "map_height", "map_width"));
        return (proto.ToByteArray(), new ClassifierHead(weight, bias, classes, channels));
    }

    /// <summary>The values of a float initializer, stored raw or as float_data.</summary>
    internal static float[] FloatValues(TensorProto tensor)
    {
        if (tensor.DataType != (int)TensorProto.Types.DataType.Float)
            throw new ArgumentException($"Initializer '{tensor.Name}' is {(TensorProto.Types.DataType)tensor.DataType}, not float.");
        if (!tensor.RawData.IsEmpty) return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(tensor.RawData.Span).ToArray();
        return tensor.FloatData.ToArray();
    }

    /// <summary>The names of the graph's inputs and outputs.</summary>
    public static (IReadOnlyList<string> Inputs, IReadOnlyList<string> Outputs) Signature(byte[] model)
    {
        var graph = ModelProto.Parser.ParseFrom(model).Graph;
        var initializers = graph.Initializer.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        return (graph.Input.Select(i => i.Name).Where(n => !initializers.Contains(n)).ToList(), graph.Output.Select(o => o.Name).ToList());
    }
}

/// <summary>A linear classifier read from a model's initializers: logit_c = Σ_k Weight[c·Channels + k]·x_k + Bias[c].</summary>
/// <param name="Weight">Classes × Channels, row-major (one row per class).</param>
/// <param name="Bias">One per class (zeros when the model has none).</param>
/// <param name="Classes">Classifier outputs.</param>
/// <param name="Channels">Classifier inputs: the feature map's channels.</param>
internal sealed record ClassifierHead(float[] Weight, float[] Bias, int Classes, int Channels);
