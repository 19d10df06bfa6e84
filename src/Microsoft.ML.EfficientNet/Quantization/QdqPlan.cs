using Onnx;

namespace Microsoft.ML.EfficientNet.Quantization;

/// <summary>
/// Which nodes of an exported EfficientNet graph become int8, and so which activations need a calibrated range. The
/// graph is read as the exporter writes it (Conv with folded batch norm, SiLU as Sigmoid·Mul, squeeze-and-excitation as
/// GlobalAveragePool → Conv → SiLU → Conv → Sigmoid → Mul, residual Add, pooling, Flatten, Gemm), and each node is
/// classed by what it computes, not by its name, so every model <c>export</c> and <c>train</c> write is covered.
/// </summary>
/// <remarks>
/// A node is quantised when its class is in <see cref="QuantizedLayers"/>. Following ONNX Runtime's own QDQ quantiser,
/// every float activation input and the output of a quantised node get one QuantizeLinear/DequantizeLinear pair, shared
/// by all consumers: ONNX Runtime then fuses DequantizeLinear → op → QuantizeLinear into its integer kernel
/// (QLinearConv, QLinearMul, QLinearAdd, QLinearSigmoid, …). Graph outputs and the in-graph preprocessing (everything
/// before the first convolution) stay float; a graph output that a quantised node reads is quantised for that reader.
/// </remarks>
internal sealed partial class QdqPlan
{
    private QdqPlan(IReadOnlyList<NodeProto> nodes, IReadOnlyList<string> activations, IReadOnlySet<string> fullRange)
    {
        Nodes = nodes;
        Layers = nodes.Select(LayerOf).Distinct(StringComparer.Ordinal).ToList();
        Activations = activations;
        FullRange = fullRange;
    }

    /// <summary>The quantised nodes, in graph order.</summary>
    public IReadOnlyList<NodeProto> Nodes { get; }

    /// <summary>The layers of the quantised nodes (see <see cref="LayerOf"/>), in graph order: the units the accuracy-aware
    /// search leaves float.</summary>
    public IReadOnlyList<string> Layers { get; }

    /// <summary>Activations that get a QuantizeLinear/DequantizeLinear pair, in graph order.</summary>
    public IReadOnlyList<string> Activations { get; }

    /// <summary>
    /// Activations whose range is their minimum and maximum whatever the calibration method: sigmoid outputs (bounded in
    /// [0, 1] already; clipping a squeeze-and-excitation gate silences the channels it opens most) and pooled
    /// [N, C, 1, 1] tensors (one value per image and channel: too few values for a histogram to describe a tail).
    /// </summary>
    public IReadOnlySet<string> FullRange { get; }

    /// <summary>
    /// The layer a node belongs to, read from the name of its first output (node names differ between exporter
    /// versions; output names are the state-dict prefixes): <c>features.2.0</c> for every node of the first block of
    /// stage 2, its expansion, depthwise, squeeze-and-excitation, projection and residual; <c>features.0.0</c> the stem,
    /// the last <c>features.N.0</c> the head convolution; any other node is a layer of its own. A block is the unit
    /// because its nodes share activations: leaving one convolution of it float still quantises its input and output.
    /// </summary>
    public static string LayerOf(NodeProto node)
    {
        string name = node.Output.Count > 0 ? node.Output[0] : node.Name;
        return BlockPrefix().Match(name) is { Success: true } m ? m.Value : name;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^features\.\d+\.\d+(?=\.|$)")]
    private static partial System.Text.RegularExpressions.Regex BlockPrefix();

    /// <summary>Classes each node of <paramref name="graph"/> and picks those in <paramref name="layers"/>, except the
    /// nodes of <paramref name="floatLayers"/>.</summary>
    public static QdqPlan Create(GraphProto graph, QuantizedLayers layers, IReadOnlySet<string>? floatLayers = null)
    {
        var initializers = graph.Initializer.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        var outputs = graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        var consumers = new Dictionary<string, List<NodeProto>>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
            foreach (string input in node.Input)
                (consumers.TryGetValue(input, out var list) ? list : consumers[input] = []).Add(node);

        // Tensors after the first convolution (the preprocessing before it stays float), and tensors of pooled
        // [N, C, 1, 1] shape (the squeeze-and-excitation branch and the final pooling).
        var network = new HashSet<string>(StringComparer.Ordinal);
        var pooled = new HashSet<string>(StringComparer.Ordinal);
        var chosen = new List<NodeProto>();
        foreach (var node in graph.Node)
        {
            var activationInputs = node.Input.Where(i => i.Length > 0 && !initializers.Contains(i)).ToList();
            bool inNetwork = node.OpType == "Conv" || activationInputs.Any(network.Contains);
            bool isPooled = node.OpType == "GlobalAveragePool" || (activationInputs.Count > 0 && activationInputs.All(pooled.Contains));
            if (inNetwork) network.UnionWith(node.Output);
            if (isPooled) pooled.UnionWith(node.Output);
            if (!inNetwork) continue;

            var layer = Classify(node, activationInputs, pooled, consumers);
            if (layer is { } l && layers.HasFlag(l) && floatLayers?.Contains(LayerOf(node)) != true) chosen.Add(node);
        }

        var activations = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in chosen)
        {
            // A graph output read by a quantised node (features, read by the classifier) is quantised for that reader
            // only; the output itself stays float. A quantised node's own output that is a graph output stays float.
            foreach (string t in node.Input.Where(i => i.Length > 0 && !initializers.Contains(i)))
                if (seen.Add(t)) activations.Add(t);
            foreach (string t in node.Output)
                if (!outputs.Contains(t) && seen.Add(t)) activations.Add(t);
        }
        // Graph order, so calibration outputs and inserted pairs follow the network.
        var order = graph.Node.SelectMany(n => n.Output).Concat(graph.Input.Select(i => i.Name)).Select((name, i) => (name, i))
            .GroupBy(p => p.name).ToDictionary(g => g.Key, g => g.First().i, StringComparer.Ordinal);
        var sigmoids = graph.Node.Where(n => n.OpType == "Sigmoid").SelectMany(n => n.Output);
        var fullRange = activations.Where(a => pooled.Contains(a)).Concat(activations.Intersect(sigmoids, StringComparer.Ordinal)).ToHashSet(StringComparer.Ordinal);
        return new QdqPlan(chosen, activations.OrderBy(t => order.GetValueOrDefault(t, int.MaxValue)).ToList(), fullRange);
    }

    private static QuantizedLayers? Classify(NodeProto node, List<string> inputs, HashSet<string> pooled, Dictionary<string, List<NodeProto>> consumers)
    {
        bool anyPooled = inputs.Any(pooled.Contains);
        switch (node.OpType)
        {
            case "Conv":
                return anyPooled ? QuantizedLayers.SqueezeExcitation : QuantizedLayers.Convolutions;
            case "Sigmoid":
                return anyPooled ? QuantizedLayers.SqueezeExcitation : QuantizedLayers.Activations;
            case "Mul":
                // SiLU's x·σ(x) on a feature map, or the SE gate scaling a feature map by a pooled [N, C, 1, 1] tensor.
                return anyPooled ? QuantizedLayers.SqueezeExcitation : QuantizedLayers.Activations;
            case "Clip":
                // Lite's ReLU6: quantised on both sides, ONNX Runtime folds it into the quantisation range.
                return QuantizedLayers.Activations;
            case "Add":
                return QuantizedLayers.Residuals;
            case "GlobalAveragePool":
                bool feedsSqueeze = node.Output.Any(o => consumers.TryGetValue(o, out var c) && c.Any(n => n.OpType == "Conv"));
                return feedsSqueeze ? QuantizedLayers.SqueezeExcitation : QuantizedLayers.Head;
            case "Gemm":
                return QuantizedLayers.Head;
            default:
                // Flatten, Reshape, Softmax, ArgMax, Gather: data movement or outputs, left float.
                return null;
        }
    }
}
