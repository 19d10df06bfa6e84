using System.Text.Json;
using Microsoft.ML.EfficientNet.Onnx;
using Microsoft.ML.EfficientNet.Quantization;

namespace EfficientNet.Cli.Tests;

/// <summary>
/// <c>efficientnet quantize</c> on a model <c>efficientnet train</c> wrote (Fashion-MNIST, two classes,
/// 32 px): the command's form and JSON, accuracy against fp32 on held-out images, and <c>evaluate</c> and <c>predict</c>
/// on the int8 file.
/// </summary>
[TestClass]
public sealed class QuantizeCommandTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void QuantizedTrainedModelKeepsItsAccuracyAndServesEvaluateAndPredict()
    {
        var (run, trained) = TrainCommandTests.TrainedRun.Value;
        Assert.AreEqual(0, trained.ExitCode, trained.Output + trained.Error);
        using var dir = new TemporaryDirectory();
        string int8 = Path.Combine(dir.Path, "int8.onnx");
        var folders = TrainCommandTests.Folders.Value;

        var quantized = CliRunner.Run("quantize", "--model", run, "--calibration", folders.Train, "--count", "128", "--output", int8, "--json");
        Assert.AreEqual(0, quantized.ExitCode, quantized.Output + quantized.Error);
        TestContext.WriteLine(quantized.Output);
        using var report = JsonDocument.Parse(quantized.Output);
        var r = report.RootElement;
        Assert.AreEqual(128, r.GetProperty("images").GetInt32());
        // The 672 training images after the 128 that calibrate are held out to measure the drop, labelled with the
        // model's classes: accuracy on both sides, within the default bound of one point.
        Assert.AreEqual(800 - 128, r.GetProperty("heldOutImages").GetInt32());
        Assert.AreEqual(1.0, r.GetProperty("maxAccuracyDrop").GetDouble());
        Assert.AreEqual(7, r.GetProperty("weightBits").GetInt32());
        double drop = r.GetProperty("accuracyDrop").GetDouble();
        Assert.AreEqual(100 * (r.GetProperty("fp32Accuracy").GetDouble() - r.GetProperty("int8Accuracy").GetDouble()), drop, 1e-9);
        Assert.IsTrue(r.GetProperty("withinMaxAccuracyDrop").GetBoolean() && drop <= 1.0 + 1e-9, $"drop {drop}");
        // Each float block was a step of the search.
        Assert.IsTrue(r.GetProperty("steps").GetArrayLength() >= r.GetProperty("floatLayers").GetArrayLength());
        Assert.AreEqual("logits", r.GetProperty("compared").GetString());
        // This two-epoch model has small margins (label smoothing, 2 epochs): ~4 % of its calibration images flip.
        Assert.IsTrue(r.GetProperty("top1Agreement").GetDouble() >= 0.9, $"agreement {r.GetProperty("top1Agreement")}");
        Assert.IsTrue(r.GetProperty("bytesAfter").GetInt64() < 0.4 * r.GetProperty("bytesBefore").GetInt64());
        // Every metadata entry (labels, recipe, provenance) is kept.
        CollectionAssert.AreEqual(OnnxModelMetadata.Read(Path.Combine(run, "model.onnx")).ToProperties().ToList(), OnnxModelMetadata.Read(int8).ToProperties().ToList());

        // Held-out images: 120 here (one image is 0.83 points). This two-epoch model lost 3 of them (94.17 % → 91.67 %) when
        // measured; a broken quantisation scores near 50 %. The bound of at most 1 point below fp32 needs the 10,000
        // Fashion-MNIST test images and a ten-class model to be resolved, too slow for a test (docs/QUANTIZATION.md,
        // scripts/evidence/quantize.sh).
        double Accuracy(string model)
        {
            var evaluated = CliRunner.Run("evaluate", "--model", model, "--data", folders.Validation, "--json");
            Assert.AreEqual(0, evaluated.ExitCode, evaluated.Error);
            using var metrics = JsonDocument.Parse(evaluated.Output);
            return metrics.RootElement.GetProperty("accuracy").GetDouble();
        }
        double fp32Accuracy = Accuracy(run), int8Accuracy = Accuracy(int8);
        TestContext.WriteLine($"validation accuracy fp32 {fp32Accuracy:P2}, int8 {int8Accuracy:P2}");
        Assert.IsTrue(int8Accuracy >= fp32Accuracy - 0.05, $"fp32 {fp32Accuracy:P2}, int8 {int8Accuracy:P2}");

        // predict reads the int8 file as it reads fp32, class activation maps included.
        string image = Directory.GetFiles(Path.Combine(folders.Validation, "Trouser")).Order(StringComparer.Ordinal).First();
        string predictions = Path.Combine(dir.Path, "predictions.json"), cams = Path.Combine(dir.Path, "cams");
        var predicted = CliRunner.Run("predict", "--model", int8, "--images", image, "--top", "2", "--output", predictions, "--explain", cams);
        Assert.AreEqual(0, predicted.ExitCode, predicted.Output + predicted.Error);
        StringAssert.Contains(File.ReadAllText(predictions), "Trouser");
        Assert.AreEqual(1, Directory.GetFiles(cams, "*.png").Length);

        // Quantising the result again is refused; so is an unknown method.
        var again = CliRunner.Run("quantize", "--model", int8, "--calibration", folders.Train, "--count", "8", "--output", Path.Combine(dir.Path, "twice.onnx"));
        Assert.AreEqual(1, again.ExitCode);
        StringAssert.Contains(again.Error, "already quantised");
        var method = CliRunner.Run("quantize", "--model", run, "--calibration", folders.Train, "--method", "magic", "--output", Path.Combine(dir.Path, "m.onnx"));
        Assert.AreEqual(1, method.ExitCode);
        StringAssert.Contains(method.Error, "Unknown calibration method 'magic'");
    }

    [TestMethod]
    public void AFlatFolderOfImagesCalibratesAndGivesAgreementOnly()
    {
        var (run, trained) = TrainCommandTests.TrainedRun.Value;
        Assert.AreEqual(0, trained.ExitCode, trained.Output + trained.Error);
        using var dir = new TemporaryDirectory();
        string flat = Path.Combine(dir.Path, "flat");
        Directory.CreateDirectory(flat);
        foreach (string file in Directory.GetFiles(Path.Combine(TrainCommandTests.Folders.Value.Train, "Bag")).Order(StringComparer.Ordinal).Take(16))
            File.Copy(file, Path.Combine(flat, Path.GetFileName(file)));
        File.WriteAllText(Path.Combine(flat, "broken.png"), "not an image");

        string int8 = Path.Combine(dir.Path, "int8.onnx");
        var quantized = CliRunner.Run("quantize", "--model", Path.Combine(run, "model.onnx"), "--calibration", flat, "--method", "entropy", "--output", int8, "--json");
        Assert.AreEqual(0, quantized.ExitCode, quantized.Output + quantized.Error);
        // The unreadable file is named on stderr; stdout stays one JSON document.
        StringAssert.Contains(quantized.Error, "broken.png");
        using var report = JsonDocument.Parse(quantized.Output);
        var r = report.RootElement;
        // 17 files, no more than --count: a quarter (4) is held out to measure the int8 model, the rest calibrate (12 of
        // them readable).
        Assert.AreEqual(12, r.GetProperty("images").GetInt32());
        Assert.AreEqual(4, r.GetProperty("heldOutImages").GetInt32());
        Assert.AreEqual("entropy", r.GetProperty("method").GetString());
        Assert.AreEqual(JsonValueKind.Null, r.GetProperty("int8Accuracy").ValueKind, "no labels, no accuracy");
        // Unlabelled: the drop is the share of held-out images whose top-1 class changes. Entropy ranges once clipped the
        // squeeze-and-excitation gates of this model to a tenth of their range (2 of 16 images agreed); sigmoid outputs
        // and pooled tensors now keep their full range whatever the method.
        double agreement = r.GetProperty("top1Agreement").GetDouble();
        Assert.AreEqual(1.0, agreement, $"top-1 agreement {agreement:F3}");
        Assert.AreEqual(0.0, r.GetProperty("accuracyDrop").GetDouble(), 1e-9);
        Assert.IsTrue(r.GetProperty("withinMaxAccuracyDrop").GetBoolean());
        Assert.IsTrue(r.GetProperty("meanCosine").GetDouble() >= 0.99, $"mean cosine {r.GetProperty("meanCosine")}");
        StringAssert.Contains(OnnxModelMetadataKey(int8), "entropy");
    }

    private static string OnnxModelMetadataKey(string path) =>
        Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(path)).MetadataProps.Single(p => p.Key == EfficientNetQuantizer.MetadataKey).Value;
}
