using System.Buffers.Binary;
using System.IO.Compression;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Onnx;
using Microsoft.ML.EfficientNet.Scoring;
using Microsoft.ML.EfficientNet.Weights;
using SkiaSharp;

namespace Microsoft.ML.EfficientNet.Tests.Onnx;

/// <summary>
/// An ML.NET <c>model.zip</c> saved from the trainer's scoring chain is taken by <c>predict</c>, <c>evaluate</c> and
/// <c>quantize</c> (all through <see cref="EfficientNetOnnxExporter.ReadOrExport"/>) as the <c>model.onnx</c> it came
/// from. The zip is laid out as ML.NET's <c>Model.Save</c> writes it (the ONNX transform's <c>OnnxModel</c> entry: a
/// 32-bit length and the bytes), around the model <see cref="OnnxModelEditing.AsMlNetClassifier"/> makes for the chain.
/// </summary>
[TestClass]
public sealed class MLNetModelZipTests
{
    private static readonly string[] Labels = ["cat", "dog", "bird"];

    private static byte[] TinyClassifier()
    {
        var spec = EfficientNetSpec.Create(EfficientNetVariant.Custom(0.25, 0.25, 32, name: "tiny"), numClasses: Labels.Length);
        var random = RandomWeights.Create(spec, seed: 3);
        return EfficientNetOnnxExporter.Export(EfficientNetCheckpoint.FromCanonical(spec, random.Weights, random.Source),
            new OnnxExportOptions { Outputs = OnnxOutputs.LogitsAndFeatures, Labels = Labels });
    }

    private static void WriteZip(string path, byte[] onnx)
    {
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        void Add(string name, byte[] bytes)
        {
            using var stream = zip.CreateEntry(name).Open();
            stream.Write(bytes);
        }
        Add("TrainingInfo/Version.txt", "1.0.0.0"u8.ToArray());
        Add("TransformerChain/Transform_000/Model.key", [1, 2, 3]);
        var entry = new byte[onnx.Length + 4];
        BinaryPrimitives.WriteInt32LittleEndian(entry, onnx.Length);
        onnx.CopyTo(entry, 4);
        Add("TransformerChain/Transform_002/Transform_002/OnnxModel", entry);
        Add("TransformerChain/Model.key", [4]);
    }

    [TestMethod]
    public void AModelZipOfTheTrainersChainPredictsAsTheOnnxItCameFrom()
    {
        using var dir = new TemporaryDirectory();
        byte[] onnx = TinyClassifier();
        string onnxPath = Path.Combine(dir.Path, "model.onnx"), zipPath = Path.Combine(dir.Path, "model.zip");
        File.WriteAllBytes(onnxPath, onnx);
        WriteZip(zipPath, OnnxModelEditing.AsMlNetClassifier(onnx, "Pixels", "Score", "PredictedLabel.Value", Labels));
        string image = Path.Combine(dir.Path, "a.png");
        using (var bitmap = new SKBitmap(40, 30))
        {
            for (int y = 0; y < 30; y++) for (int x = 0; x < 40; x++) bitmap.SetPixel(x, y, new SKColor((byte)(6 * x), (byte)(8 * y), 90));
            using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
            File.WriteAllBytes(image, data.ToArray());
        }

        using var fromOnnx = EfficientNetPredictor.Load(onnxPath);
        using var fromZip = EfficientNetPredictor.Load(zipPath);
        var expected = fromOnnx.Predict(image, top: 3);
        var actual = fromZip.Predict(image, top: 3);
        Assert.IsTrue(actual.Succeeded, actual.Error);
        CollectionAssert.AreEqual(expected.Logits!.ToArray(), actual.Logits!.ToArray(), "bit-equal logits");
        Assert.AreEqual(expected.Label, actual.Label);
        CollectionAssert.AreEqual(Labels, fromZip.Labels.ToArray());

        // A zip without an EfficientNetML model says so and what to give instead.
        string foreign = Path.Combine(dir.Path, "foreign.zip");
        var stripped = global::Onnx.ModelProto.Parser.ParseFrom(onnx);
        stripped.MetadataProps.Clear();
        WriteZip(foreign, Google.Protobuf.MessageExtensions.ToByteArray(stripped));
        var error = Assert.ThrowsExactly<InvalidDataException>(() => EfficientNetPredictor.Load(foreign));
        Assert.AreEqual($"'{foreign}' is an ML.NET model, but none of its 1 ONNX models was exported by EfficientNetML; give the .onnx file (or run folder) the pipeline was built from.", error.Message);
    }
}
