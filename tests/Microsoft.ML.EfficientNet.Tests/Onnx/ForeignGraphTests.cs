using Google.Protobuf;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Onnx;
using Microsoft.ML.EfficientNet.Weights;

namespace Microsoft.ML.EfficientNet.Tests.Onnx;

/// <summary>
/// A model that carries EfficientNetML's metadata but not a graph it writes is refused by <see cref="OnnxModelValidation"/>
/// before ONNX Runtime sees it: an operator of another domain (code from elsewhere), an initializer kept in an external
/// file (which could name any file on the machine), a <c>logits</c> width other than the metadata's class count.
/// </summary>
[TestClass]
public sealed class ForeignGraphTests
{
    private static global::Onnx.ModelProto Tiny()
    {
        var spec = EfficientNetSpec.Create(EfficientNetVariant.Custom(0.25, 0.25, 32, name: "tiny"), numClasses: 3);
        var random = RandomWeights.Create(spec, seed: 1);
        byte[] bytes = EfficientNetOnnxExporter.Export(EfficientNetCheckpoint.FromCanonical(spec, random.Weights, random.Source), new OnnxExportOptions { Labels = ["a", "b", "c"] });
        return global::Onnx.ModelProto.Parser.ParseFrom(bytes);
    }

    private static string Refusal(global::Onnx.ModelProto model) =>
        Assert.ThrowsExactly<InvalidDataException>(() => OnnxModelValidation.Check(model.ToByteArray(), "/m/model.onnx", OnnxExportOptions.LogitsOutputName)).Message;

    [TestMethod]
    public void ForeignOperatorsExternalWeightsAndAWrongLogitsWidthAreRefused()
    {
        // The untouched model passes.
        Assert.AreEqual(3, OnnxModelValidation.Check(Tiny().ToByteArray(), "/m/model.onnx", OnnxExportOptions.LogitsOutputName).NumClasses);

        var custom = Tiny();
        custom.Graph.Node[0].Domain = "com.example.evil";
        Assert.AreEqual($"'/m/model.onnx' uses operator '{custom.Graph.Node[0].OpType}' of domain 'com.example.evil' (node '{custom.Graph.Node[0].Name}'), which EfficientNetML never writes; it was not loaded.", Refusal(custom));

        var external = Tiny();
        var initializer = external.Graph.Initializer[0];
        initializer.RawData = ByteString.Empty;
        initializer.FloatData.Clear();
        initializer.DataLocation = global::Onnx.TensorProto.Types.DataLocation.External;
        initializer.ExternalData.Add(new global::Onnx.StringStringEntryProto { Key = "location", Value = "../../etc/shadow" });
        Assert.AreEqual($"'/m/model.onnx' keeps initializer '{initializer.Name}' in an external file (../../etc/shadow); EfficientNetML models hold their weights inside the file, so it was not loaded.", Refusal(external));

        var wider = Tiny();
        wider.Graph.Output.Single(o => o.Name == OnnxExportOptions.LogitsOutputName).Type.TensorType.Shape.Dim[1].DimValue = 5;
        Assert.AreEqual("'/m/model.onnx' records 3 classes ('num_classes' in its metadata_props) but its 'logits' output has 5.", Refusal(wider));
    }
}
