using System.Diagnostics;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Onnx;
using Microsoft.ML.EfficientNet.Preprocessing;
using Microsoft.ML.EfficientNet.Weights;

namespace Microsoft.ML.EfficientNet.Tests.Onnx;

/// <summary>
/// Every fixture checkpoint is exported by the managed ONNX writer and run by ONNX Runtime; logits and pooled features
/// must match torchvision's (the fixture's reference) under the project tolerance.
/// </summary>
[TestClass]
public sealed class OnnxExportParityTests
{
    public TestContext TestContext { get; set; } = null!;

    public static IEnumerable<object[]> Cases => Fixtures.CaseData;

    [TestMethod]
    [DynamicData(nameof(Cases))]
    public void BareModelMatchesTorchvision(string variant, string format, string weights, string io, int resolution)
    {
        var c = new ParityCase(variant, format, weights, io, resolution);
        var checkpoint = EfficientNetCheckpoint.Load(Fixtures.Generated(weights), EfficientNetVariant.Parse(variant));
        var (input, logits, features) = c.ReadIo();
        byte[] model = EfficientNetOnnxExporter.Export(checkpoint, new OnnxExportOptions { Bare = true, Resolution = resolution });
        var outputs = OnnxRunner.Run(model, OnnxExportOptions.NormalizedInputName, input.Values, input.Shape);
        Assert.AreEqual(1, outputs.Count, "a bare model has exactly one output");
        double dl = Parity.AssertClose(logits.Values, outputs[OnnxExportOptions.LogitsOutputName], $"{weights} logits");

        byte[] withFeatures = EfficientNetOnnxExporter.Export(checkpoint, new OnnxExportOptions
        {
            Outputs = OnnxOutputs.LogitsAndFeatures,
            Preprocessing = new PreprocessingRecipe(resolution, resolution, PreprocessingRecipe.ImageNetMean, PreprocessingRecipe.ImageNetStd, ResizeInterpolation.Bicubic),
        });
        // The in-graph preprocessing takes 0–255 planar RGB: undo the normalisation of the reference input.
        var raw = ToRaw(input.Values, resolution, PreprocessingRecipe.ImageNetMean, PreprocessingRecipe.ImageNetStd);
        var both = OnnxRunner.Run(withFeatures, OnnxExportOptions.ImageInputName, raw, input.Shape);
        double df = Parity.AssertClose(features.Values, both[OnnxExportOptions.FeaturesOutputName], $"{weights} features");
        Parity.AssertClose(logits.Values, both[OnnxExportOptions.LogitsOutputName], $"{weights} logits with preprocessing");
        TestContext.WriteLine($"{weights}: ONNX Runtime vs torchvision max|Δ| logits {dl:E2}, features {df:E2}");
    }

    [TestMethod]
    public void InGraphCropTakesTheTorchvisionCentre()
    {
        // Embed the reference input in a larger frame of noise; a correct centre crop recovers the reference logits.
        var c = Fixtures.Cases.Single(x => x.Weights == "b0.torchvision.pth");
        var checkpoint = EfficientNetCheckpoint.Load(Fixtures.Generated(c.Weights), EfficientNetVariant.B0);
        var (input, logits, _) = c.ReadIo();
        var recipe = PretrainedWeights.RecipeFor(WeightFormat.TorchVision, EfficientNetVariant.B0); // 256 → 224
        Assert.AreEqual(16, recipe.CropOffset);
        var raw = ToRaw(input.Values, 224, recipe.Mean, recipe.Std);
        int n = (int)input.Shape[0], big = recipe.ResizeSize, offset = recipe.CropOffset;
        var framed = new float[n * 3 * big * big];
        var random = new Random(5);
        for (int i = 0; i < framed.Length; i++) framed[i] = random.Next(256);
        for (int b = 0; b < n * 3; b++)
            for (int y = 0; y < 224; y++)
                Array.Copy(raw, (b * 224 + y) * 224, framed, (b * big + y + offset) * big + offset, 224);
        byte[] model = EfficientNetOnnxExporter.Export(checkpoint);
        var outputs = OnnxRunner.Run(model, OnnxExportOptions.ImageInputName, framed, [n, 3, big, big]);
        Parity.AssertClose(logits.Values, outputs[OnnxExportOptions.LogitsOutputName], "cropped logits");
    }

    [TestMethod]
    public void MetadataRecordsTheRecipeAndTheWeights()
    {
        string path = Fixtures.Generated("b0.lukemelas.pth");
        var checkpoint = EfficientNetCheckpoint.Load(path, EfficientNetVariant.B0);
        var labels = Enumerable.Range(0, 1000).Select(i => $"class {i}").ToArray();
        var metadata = OnnxModelMetadata.Read(EfficientNetOnnxExporter.Export(checkpoint, new OnnxExportOptions { Labels = labels }));
        Assert.AreEqual("b0", metadata.Variant);
        Assert.AreEqual(224, metadata.Resolution);
        Assert.AreEqual(224, metadata.Preprocessing.ResizeSize);
        Assert.AreEqual(PreprocessingRecipe.ImageNetStd, metadata.Preprocessing.Std);
        Assert.AreEqual("lukemelas", metadata.WeightSource);
        Assert.AreEqual("b0.lukemelas.pth", metadata.WeightFile);
        Assert.AreEqual(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(path))), metadata.WeightSha256);
        Assert.AreEqual(PaddingMode.TensorFlowSame, metadata.Padding);
        Assert.AreEqual(1e-3, metadata.BatchNormEpsilon);
        CollectionAssert.AreEqual(labels, metadata.Labels!.ToArray());
        Assert.IsFalse(metadata.Bare);
    }

    [TestMethod]
    public void ExportRefusesWhatItCannotWrite()
    {
        var checkpoint = EfficientNetCheckpoint.Load(Fixtures.Generated("b0.torchvision.pth"), EfficientNetVariant.B0,
            new CheckpointLoadOptions { NumClasses = 10, ReplaceHead = true });
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => EfficientNetOnnxExporter.Export(checkpoint)).Message, "export features only");
        var full = EfficientNetCheckpoint.Load(Fixtures.Generated("b0.torchvision.pth"), EfficientNetVariant.B0);
        Assert.ThrowsExactly<ArgumentException>(() => EfficientNetOnnxExporter.Export(full, new OnnxExportOptions { Bare = true, Outputs = OnnxOutputs.LogitsAndFeatures }));
        Assert.ThrowsExactly<ArgumentException>(() => EfficientNetOnnxExporter.Export(full, new OnnxExportOptions { Labels = ["a", "b"] }));
    }

    [TestMethod]
    public void ExportedFilesPassTheOnnxChecker()
    {
        using var dir = new TemporaryDirectory();
        var b0 = EfficientNetCheckpoint.Load(Fixtures.Generated("b0.lukemelas.pth"), EfficientNetVariant.B0);
        var b3 = EfficientNetCheckpoint.Load(Fixtures.Generated("tf_efficientnet_b3.safetensors"), EfficientNetVariant.B3);
        var files = new List<string>();
        void Write(string name, EfficientNetCheckpoint checkpoint, OnnxExportOptions options)
        {
            string path = Path.Combine(dir.Path, name);
            EfficientNetOnnxExporter.Export(checkpoint, path, options);
            files.Add(path);
        }
        Write("b0-preprocessed.onnx", b0, new OnnxExportOptions { Outputs = OnnxOutputs.LogitsAndFeatures });
        Write("b0-bare.onnx", b0, new OnnxExportOptions { Bare = true });
        Write("b3-features.onnx", b3, new OnnxExportOptions { Outputs = OnnxOutputs.Features, Resolution = 96 });
        var start = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("import sys, onnx\nfor p in sys.argv[1:]:\n    onnx.checker.check_model(onnx.load(p), full_check=True)\n    print('ok', p)");
        files.ForEach(start.ArgumentList.Add);
        var check = Process.Start(start)!;
        string output = check.StandardOutput.ReadToEnd(), error = check.StandardError.ReadToEnd();
        check.WaitForExit();
        Assert.AreEqual(0, check.ExitCode, error);
        Assert.AreEqual(files.Count, output.Split('\n').Count(l => l.StartsWith("ok ", StringComparison.Ordinal)), output);
    }

    private static float[] ToRaw(float[] normalized, int size, RgbValues mean, RgbValues std)
    {
        var raw = new float[normalized.Length];
        float[] m = mean.ToArray(), s = std.ToArray();
        int plane = size * size;
        for (int i = 0; i < raw.Length; i++)
        {
            int channel = i / plane % 3;
            raw[i] = (normalized[i] * s[channel] + m[channel]) * 255f;
        }
        return raw;
    }
}
