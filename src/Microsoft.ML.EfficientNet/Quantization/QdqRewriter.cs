using System.Runtime.InteropServices;
using Microsoft.ML.EfficientNet.Onnx;
using Onnx;

namespace Microsoft.ML.EfficientNet.Quantization;

/// <summary>
/// Rewrites a float graph into ONNX's QDQ form: each planned activation gets QuantizeLinear → DequantizeLinear (uint8,
/// asymmetric, from its calibrated range); each quantised Conv or Gemm reads int8 weights, symmetric per output channel,
/// and an int32 bias at scale input·weight, through DequantizeLinear. ONNX Runtime's CPU provider fuses these patterns
/// into its integer kernels (U8S8: unsigned activations and signed weights, the form its x86 int8 kernels and VNNI run).
/// </summary>
/// <remarks>
/// Hand-written because no .NET library quantises ONNX models (ONNX Runtime's quantiser is Python); the rules follow its
/// QDQ format. Node order stays topological: each pair follows the node that produces its activation.
/// </remarks>
internal static class QdqRewriter
{
    /// <summary>Rewrites <paramref name="model"/> in place.</summary>
    /// <param name="model">The float model.</param>
    /// <param name="plan">Which nodes and activations are quantised.</param>
    /// <param name="ranges">The calibrated range of every activation in the plan.</param>
    /// <param name="weightBits">Bits of the symmetric weights, 7 or 8.</param>
    public static void Apply(ModelProto model, QdqPlan plan, IReadOnlyDictionary<string, ActivationRange> ranges, int weightBits)
    {
        int weightLevels = (1 << (weightBits - 1)) - 1;
        var graph = model.Graph;
        var builder = new OnnxGraphBuilder(graph);
        var initializers = graph.Initializer.ToDictionary(i => i.Name, StringComparer.Ordinal);
        // By reference: a node's value hash changes as its inputs are rewired.
        var quantizedNodes = plan.Nodes.ToHashSet(ReferenceEqualityComparer.Instance);
        var activations = plan.Activations.ToHashSet(StringComparer.Ordinal);
        var dequantized = new Dictionary<string, string>(StringComparer.Ordinal);
        var scales = new Dictionary<string, float>(StringComparer.Ordinal);
        var replacedWeights = new HashSet<string>(StringComparer.Ordinal);

        var original = graph.Node.ToList();
        graph.Node.Clear();

        void AddPair(string activation)
        {
            var range = ranges[activation];
            var (scale, zeroPoint) = ActivationParameters(range.Low, range.High);
            scales[activation] = scale;
            string s = builder.Initializer(activation + "_scale", [], [scale]);
            string z = builder.RawInitializer(activation + "_zero_point", TensorProto.Types.DataType.Uint8, [], [zeroPoint]);
            string q = builder.Node("QuantizeLinear", activation + "_quantized", [activation, s, z]);
            dequantized[activation] = builder.Node("DequantizeLinear", activation + "_dequantized", [q, s, z]);
        }

        foreach (string input in graph.Input.Select(i => i.Name).Where(activations.Contains)) AddPair(input);
        foreach (var node in original)
        {
            for (int i = 0; i < node.Input.Count; i++)
                if (dequantized.TryGetValue(node.Input[i], out var d)) node.Input[i] = d;
            if (quantizedNodes.Contains(node) && node.OpType is "Conv" or "Gemm")
                QuantizeWeights(node, builder, initializers, scales, dequantized, replacedWeights, ranges, weightLevels);
            graph.Node.Add(node);
            foreach (string output in node.Output.Where(activations.Contains)) AddPair(output);
        }

        // The float copies of quantised weights are gone from the graph.
        foreach (string name in replacedWeights)
            if (!graph.Node.Any(n => n.Input.Contains(name))) graph.Initializer.Remove(initializers[name]);
    }

    /// <summary>Scale and zero point of uint8 over [low, high] (zero exactly representable).</summary>
    internal static (float Scale, byte ZeroPoint) ActivationParameters(float low, float high)
    {
        low = Math.Min(low, 0f);
        high = Math.Max(high, 0f);
        float scale = (high - low) / 255f;
        if (!(scale > 0) || !float.IsFinite(scale)) return (1f, 0);
        return (scale, (byte)Math.Clamp(MathF.Round(-low / scale), 0, 255));
    }

    private static int GroupsOf(NodeProto node) => (int)(node.Attribute.FirstOrDefault(a => a.Name == "group")?.I ?? 1);

    /// <summary>
    /// Empirical bias correction (Nagel et al., "Data-Free Quantization", 2019): rounding the weights shifts each output
    /// channel's mean by Σ (Ŵ − W)·E[x]; subtracting that shift from the bias removes it. It matters most for depthwise
    /// convolutions, whose nine weights per channel do not average their rounding errors away, and is one reason naive
    /// post-training quantisation of EfficientNet loses accuracy. E[x] is the calibration mean of each input channel.
    /// </summary>
    private static void CorrectBias(float[] bias, float[] weight, sbyte[] quantized, float[] scales, double[] inputMeans, int groups)
    {
        int outputs = bias.Length, perOutput = weight.Length / outputs;
        int outputsPerGroup = outputs / groups, inputsPerGroup = inputMeans.Length / groups;
        if (inputsPerGroup * groups != inputMeans.Length || perOutput % inputsPerGroup != 0) return;
        int kernel = perOutput / inputsPerGroup;
        for (int o = 0; o < outputs; o++)
        {
            int firstInput = o / outputsPerGroup * inputsPerGroup;
            double shift = 0;
            for (int i = 0; i < perOutput; i++)
            {
                int index = o * perOutput + i;
                shift += (quantized[index] * (double)scales[o] - weight[index]) * inputMeans[firstInput + i / kernel];
            }
            bias[o] -= (float)shift;
        }
    }

    private static void QuantizeWeights(NodeProto node, OnnxGraphBuilder builder, Dictionary<string, TensorProto> initializers,
        Dictionary<string, float> scales, Dictionary<string, string> dequantized, HashSet<string> replaced, IReadOnlyDictionary<string, ActivationRange> ranges,
        int weightLevels)
    {
        // Weight and bias stay float unless the activation input is quantised too: the integer kernel needs all three.
        string inputName = dequantized.FirstOrDefault(p => p.Value == node.Input[0]).Key;
        if (inputName is null || node.Input.Count < 2 || !initializers.TryGetValue(node.Input[1], out var weight)) return;
        if (node.OpType == "Gemm" && !node.Attribute.Any(a => a.Name == "transB" && a.I == 1)) return;

        // Per output channel: Conv weights are [out, in/groups, k, k], Gemm's with transB [out, in].
        var w = OnnxModelEditing.FloatValues(weight);
        int outputs = (int)weight.Dims[0], perOutput = w.Length / outputs;
        var weightScales = new float[outputs];
        var quantized = new sbyte[w.Length];
        for (int o = 0; o < outputs; o++)
        {
            var row = w.AsSpan(o * perOutput, perOutput);
            // MaxMagnitude returns the signed value of largest magnitude.
            float max = MathF.Abs(System.Numerics.Tensors.TensorPrimitives.MaxMagnitude(row));
            float scale = max > 0 ? max / weightLevels : 1f;
            weightScales[o] = scale;
            for (int i = 0; i < perOutput; i++) quantized[o * perOutput + i] = (sbyte)Math.Clamp(MathF.Round(row[i] / scale), -weightLevels, weightLevels);
        }
        string wq = builder.RawInitializer(weight.Name + "_quantized", TensorProto.Types.DataType.Int8, weight.Dims.ToArray(), MemoryMarshal.AsBytes(quantized.AsSpan()));
        string ws = builder.Initializer(weight.Name + "_scale", [outputs], weightScales);
        string wz = builder.RawInitializer(weight.Name + "_zero_point", TensorProto.Types.DataType.Int8, [outputs], new byte[outputs]);
        node.Input[1] = builder.Node("DequantizeLinear", weight.Name + "_dequantized", [wq, ws, wz], OnnxGraphBuilder.Int("axis", 0));
        replaced.Add(weight.Name);

        if (node.Input.Count > 2 && initializers.TryGetValue(node.Input[2], out var bias))
        {
            var b = OnnxModelEditing.FloatValues(bias);
            if (ranges[inputName].ChannelMeans is { } means) CorrectBias(b, w, quantized, weightScales, means, GroupsOf(node));
            float inputScale = scales[inputName];
            var biasScales = weightScales.Select(s => s * inputScale).ToArray();
            var q = new int[b.Length];
            for (int o = 0; o < b.Length; o++) q[o] = (int)Math.Clamp(Math.Round(b[o] / (double)biasScales[o]), int.MinValue, int.MaxValue);
            string bq = builder.RawInitializer(bias.Name + "_quantized", TensorProto.Types.DataType.Int32, bias.Dims.ToArray(), MemoryMarshal.AsBytes(q.AsSpan()));
            string bs = builder.Initializer(bias.Name + "_scale", [outputs], biasScales);
            string bz = builder.RawInitializer(bias.Name + "_zero_point", TensorProto.Types.DataType.Int32, [outputs], new byte[4 * outputs]);
            node.Input[2] = builder.Node("DequantizeLinear", bias.Name + "_dequantized", [bq, bs, bz], OnnxGraphBuilder.Int("axis", 0));
            replaced.Add(bias.Name);
        }
    }
}
