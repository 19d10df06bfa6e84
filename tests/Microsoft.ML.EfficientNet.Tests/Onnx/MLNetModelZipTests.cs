using System.IO.Compression;
using Microsoft.ML.EfficientNet.Onnx;
using Microsoft.ML.EfficientNet.Scoring;
using Microsoft.ML.EfficientNet.Tests.Explain;

namespace Microsoft.ML.EfficientNet.Tests.Onnx;

/// <summary>The predictor opens the classifier inside an ML.NET model.zip the trainer saved as it opens the model.onnx.</summary>
[TestClass]
public sealed class MLNetModelZipTests
{
    [TestMethod]
    public void AModelZipPredictsAsItsOnnxModel()
    {
        using var dir = new TemporaryDirectory();
        string model = ClassActivationMapTests.TinyModel(dir.Path).Model;
        // As the trainer saves it: the graph edited for ML.NET, stored by ApplyOnnxModel as a length and the bytes.
        var edited = OnnxModelEditing.AsMlNetClassifier(File.ReadAllBytes(model), "Pixels", "Score", "PredictedLabel", ["a", "b", "c", "d", "e"]);
        string zip = Path.Combine(dir.Path, "model.zip");
        using (var archive = ZipFile.Open(zip, ZipArchiveMode.Create))
        {
            using (var s = archive.CreateEntry("TransformerChain/Model.key").Open()) s.Write([1, 2, 3]);
            using var entry = archive.CreateEntry("TransformerChain/Transform_002/Transform_002/OnnxModel").Open();
            entry.Write(BitConverter.GetBytes(edited.Length));
            entry.Write(edited);
        }
        var image = Path.Combine(ImageData.Folder, ImageData.GoodRows()[0].Path);
        using var fromOnnx = EfficientNetPredictor.Load(model);
        using var fromZip = EfficientNetPredictor.Load(zip);
        var expected = fromOnnx.Predict(image, top: 5, explain: true);
        var actual = fromZip.Predict(image, top: 5, explain: true);
        CollectionAssert.AreEqual(expected.Logits!.ToArray(), actual.Logits!.ToArray());
        CollectionAssert.AreEqual(fromOnnx.Labels.ToArray(), fromZip.Labels.ToArray());
        Assert.AreEqual(expected.ActivationMap!.Mean, actual.ActivationMap!.Mean, 1e-6);
        // A batch of several: the ML.NET graph's one-row label output must not be computed.
        var images = ImageData.GoodRows().Select(r => Path.Combine(ImageData.Folder, r.Path)).ToArray();
        var batch = fromZip.Predict(images).ToArray();
        var alone = fromOnnx.Predict(images).ToArray();
        Assert.AreEqual(images.Length, batch.Length);
        for (int i = 0; i < images.Length; i++) Assert.AreEqual(alone[i].Label, batch[i].Label, images[i]);

        string featurizerZip = Path.Combine(dir.Path, "features.zip");
        var featuresOnly = EfficientNetOnnxExporter.Export(ClassActivationMapTests.TinyModel(dir.Path).Checkpoint, new OnnxExportOptions { Outputs = OnnxOutputs.Features });
        using (var archive = ZipFile.Open(featurizerZip, ZipArchiveMode.Create))
        {
            using var entry = archive.CreateEntry("TransformerChain/Transform_001/OnnxModel").Open();
            entry.Write(BitConverter.GetBytes(featuresOnly.Length));
            entry.Write(featuresOnly);
        }
        var e = Assert.ThrowsExactly<InvalidDataException>(() => EfficientNetPredictor.Load(featurizerZip));
        StringAssert.Contains(e.Message, "without logits");
        StringAssert.Contains(e.Message, "features.zip");
    }
}
