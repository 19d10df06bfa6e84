using Google.Protobuf;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Onnx;
using Microsoft.ML.EfficientNet.Scoring;
using Microsoft.ML.EfficientNet.Weights;
using Onnx;

namespace Microsoft.ML.EfficientNet.Tests.Onnx;

/// <summary>
/// Damaged or mismatched .onnx files given to the featurizer as WeightsPath: each fails at Fit with
/// an error naming the file and what was expected, before ONNX Runtime sees it. The missing-'features' case and the
/// bare/variant cases are in FeaturizerTests.ExportedOnnxFilesAreAcceptedAndChecked.
/// </summary>
[TestClass]
public sealed class OnnxFileValidationTests
{
    private static byte[] _features = [];

    [ClassInitialize]
    public static void ExportOnce(TestContext _)
    {
        var checkpoint = EfficientNetCheckpoint.Load(Fixtures.Generated("b0.torchvision.pth"), EfficientNetVariant.B0);
        _features = EfficientNetOnnxExporter.Export(checkpoint, new OnnxExportOptions { Outputs = OnnxOutputs.Features });
    }

    private static string FeaturizerError(string name, byte[] bytes)
    {
        using var dir = new TemporaryDirectory();
        string path = Path.Combine(dir.Path, name);
        File.WriteAllBytes(path, bytes);
        var ml = new MLContext();
        var data = ImageData.Load(ml, ImageData.GoodRows().Take(1));
        var images = ml.Transforms.LoadImages("Image", ImageData.Folder, "Path").Fit(data).Transform(data);
        var error = Assert.ThrowsExactly<InvalidDataException>(() =>
            ml.Transforms.EfficientNetFeaturizer("b0", options: new EfficientNetFeaturizerOptions { WeightsPath = path }).Fit(images), name);
        StringAssert.Contains(error.Message, $"'{path}'", name);
        return error.Message;
    }

    private static byte[] WithInputDims(long channels, long size)
    {
        var proto = ModelProto.Parser.ParseFrom(_features);
        var dims = proto.Graph.Input[0].Type.TensorType.Shape.Dim;
        dims[1].DimValue = channels;
        dims[2].DimValue = size;
        dims[3].DimValue = size;
        return proto.ToByteArray();
    }

    [TestMethod]
    public void TruncatedOnnxIsNamedAsTruncated()
    {
        StringAssert.Contains(FeaturizerError("cut.onnx", _features[..(_features.Length / 2)]), "the file is truncated or not ONNX");
    }

    [TestMethod]
    public void GarbageNamedOnnxIsNotTakenForAModel()
    {
        var random = new Random(12);
        var garbage = new byte[4096];
        random.NextBytes(garbage);
        string message = FeaturizerError("garbage.onnx", garbage);
        Assert.IsTrue(message.Contains("not ONNX", StringComparison.Ordinal) || message.Contains("not a readable ONNX model", StringComparison.Ordinal), message);
        StringAssert.Contains(FeaturizerError("text.onnx", "hello, not a model"u8.ToArray()), "ONNX");
    }

    [TestMethod]
    public void AnotherChannelCountIsRefusedWithTheExpectedShape()
    {
        int size = OnnxModelMetadata.Read(_features).InputSize;
        string message = FeaturizerError("four-channels.onnx", WithInputDims(4, size));
        StringAssert.Contains(message, $"shape [N, 4, {size}, {size}]");
        StringAssert.Contains(message, $"expected one float input of shape [N, 3, {size}, {size}]");
    }

    [TestMethod]
    public void AnotherInputSizeIsRefusedWithTheExpectedShape()
    {
        int size = OnnxModelMetadata.Read(_features).InputSize;
        string message = FeaturizerError("size-100.onnx", WithInputDims(3, 100));
        StringAssert.Contains(message, "shape [N, 3, 100, 100]");
        StringAssert.Contains(message, $"input size {size} px from its metadata");
    }

    [TestMethod]
    public void ForeignOnnxWithoutOurMetadataSaysSo()
    {
        var proto = ModelProto.Parser.ParseFrom(_features);
        proto.MetadataProps.Clear();
        StringAssert.Contains(FeaturizerError("foreign.onnx", proto.ToByteArray()), "was not exported by EfficientNetML");
    }

    [TestMethod]
    public void MissingRequiredOutputIsNamed()
    {
        // What evaluate asks for: 'logits', absent from a features-only export.
        var error = Assert.ThrowsExactly<InvalidDataException>(() => OnnxModelValidation.Check(_features, "features-only.onnx", OnnxExportOptions.LogitsOutputName));
        StringAssert.Contains(error.Message, "'features-only.onnx' has outputs [features] but no 'logits' output");
        Assert.AreEqual("b0", OnnxModelValidation.Check(_features, "ok.onnx", OnnxExportOptions.FeaturesOutputName).Variant);
    }

    [TestMethod]
    public void PredictorNamesTheFileAndWhatItExpected()
    {
        // predict (EfficientNetPredictor.Load) goes through the same check before ONNX Runtime sees the file: a truncated
        // model, and a features-only model that has no 'logits' output to predict from.
        using var dir = new TemporaryDirectory();
        string cut = Path.Combine(dir.Path, "cut.onnx");
        File.WriteAllBytes(cut, _features[..(_features.Length / 2)]);
        var error = Assert.ThrowsExactly<InvalidDataException>(() => EfficientNetPredictor.Load(cut));
        StringAssert.Contains(error.Message, $"'{cut}'");
        StringAssert.Contains(error.Message, "the file is truncated or not ONNX");

        string featuresOnly = Path.Combine(dir.Path, "features.onnx");
        File.WriteAllBytes(featuresOnly, _features);
        error = Assert.ThrowsExactly<InvalidDataException>(() => EfficientNetPredictor.Load(featuresOnly));
        StringAssert.Contains(error.Message, $"'{featuresOnly}'");
        StringAssert.Contains(error.Message, "logits");
    }
}
