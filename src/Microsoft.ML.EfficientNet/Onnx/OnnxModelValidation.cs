using Onnx;

namespace Microsoft.ML.EfficientNet.Onnx;

/// <summary>
/// Checks an ONNX file handed to the featurizer or <c>efficientnet evaluate</c> before ONNX Runtime sees it, so a
/// truncated, foreign or mismatched file fails with its name and what was expected instead of a runtime error later.
/// </summary>
internal static class OnnxModelValidation
{
    /// <summary>
    /// Parses <paramref name="model"/> and checks: it is ONNX with a graph, it carries EfficientNetML's metadata, its one
    /// image input is float [N, 3, S, S] with S the input size its metadata records, and it has every output in
    /// <paramref name="requiredOutputs"/>. Returns the metadata.
    /// </summary>
    /// <exception cref="InvalidDataException">Any check fails; the message names <paramref name="path"/>, what was found and what was expected.</exception>
    public static OnnxModelMetadata Check(byte[] model, string path, params string[] requiredOutputs)
    {
        ModelProto proto;
        try
        {
            proto = ModelProto.Parser.ParseFrom(model);
        }
        catch (Google.Protobuf.InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"'{path}' is not a readable ONNX model ({model.Length:N0} bytes; {e.Message}): the file is truncated or not ONNX.", e);
        }
        // Random bytes can parse as a protobuf with only unknown fields: a model without a graph is not a model.
        if (proto.Graph is null || proto.Graph.Node.Count == 0)
            throw new InvalidDataException($"'{path}' is not an ONNX model ({model.Length:N0} bytes, no graph): the file is damaged or not ONNX.");

        var metadata = OnnxModelMetadata.Read(model, $"'{path}'");

        // What EfficientNetML writes uses the standard operator set and keeps every weight inside the file: an operator
        // of another domain would need code from elsewhere, and external data could name any file on the machine.
        if (proto.Graph.Node.FirstOrDefault(n => n.Domain is not ("" or "ai.onnx")) is { } custom)
            throw new InvalidDataException($"'{path}' uses operator '{custom.OpType}' of domain '{custom.Domain}' (node '{custom.Name}'), which EfficientNetML never writes; it was not loaded.");
        if (proto.Graph.Initializer.FirstOrDefault(t => t.DataLocation == TensorProto.Types.DataLocation.External) is { } external)
            throw new InvalidDataException($"'{path}' keeps initializer '{external.Name}' in an external file ({string.Join(", ", external.ExternalData.Where(e => e.Key == "location").Select(e => e.Value))}); EfficientNetML models hold their weights inside the file, so it was not loaded.");

        var initializers = proto.Graph.Initializer.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        var inputs = proto.Graph.Input.Where(i => !initializers.Contains(i.Name)).ToList();
        int size = metadata.InputSize;
        string expected = $"one float input of shape [N, 3, {size}, {size}] (EfficientNet-{metadata.Variant}, input size {size} px from its metadata)";
        if (inputs.Count != 1)
            throw new InvalidDataException($"'{path}' has {inputs.Count} inputs ({string.Join(", ", inputs.Select(i => i.Name))}); expected {expected}.");
        var tensor = inputs[0].Type?.TensorType;
        var dims = tensor?.Shape?.Dim.Select(d => d.HasDimValue ? d.DimValue.ToString(System.Globalization.CultureInfo.InvariantCulture) : "N").ToList() ?? [];
        string found = $"input '{inputs[0].Name}' of type {(TensorProto.Types.DataType)(tensor?.ElemType ?? 0)} and shape [{string.Join(", ", dims)}]";
        bool fits = tensor is { ElemType: (int)TensorProto.Types.DataType.Float } && dims.Count == 4 &&
            dims[1] == "3" && (dims[2] == "N" || dims[2] == size.ToString(System.Globalization.CultureInfo.InvariantCulture)) &&
            (dims[3] == "N" || dims[3] == size.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (!fits) throw new InvalidDataException($"'{path}' has {found}; expected {expected}.");

        var outputs = proto.Graph.Output.Select(o => o.Name).ToList();
        foreach (string required in requiredOutputs)
        {
            if (!outputs.Contains(required))
                throw new InvalidDataException($"'{path}' has outputs [{string.Join(", ", outputs)}] but no '{required}' output, which is needed here. " +
                    (required == OnnxExportOptions.FeaturesOutputName ? "Export it with --features-only or --features." : "Export it without --features-only."));
        }
        if (proto.Graph.Output.FirstOrDefault(o => o.Name == OnnxExportOptions.LogitsOutputName)?.Type?.TensorType?.Shape?.Dim is { Count: 2 } logits &&
            logits[1].HasDimValue && logits[1].DimValue != metadata.NumClasses)
            throw new InvalidDataException($"'{path}' records {metadata.NumClasses} classes ('num_classes' in its metadata_props) but its '{OnnxExportOptions.LogitsOutputName}' output has {logits[1].DimValue}.");
        return metadata;
    }
}
