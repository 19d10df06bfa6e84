using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.EfficientNet.Data;
using EfficientNet.Training.Training;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Onnx;
using Microsoft.ML.EfficientNet.Preprocessing;
using Microsoft.ML.EfficientNet.Weights;

namespace EfficientNet.Training.Tests.Training;

/// <summary>
/// docs/SCALE-OUT.md's round trip with PyTorch: a run folder's <c>model.safetensors</c> loads with
/// <c>load_state_dict(strict=True)</c> into torchvision's <c>efficientnet_b0(num_classes=k)</c> (Debian's torch 1.13) and
/// gives the logits of the exported <c>model.onnx</c>; a DDP-style <c>module.</c>-prefixed <c>.pth</c> saved by PyTorch comes
/// back through <see cref="EfficientNetCheckpoint.Load"/> with the same tensors and logits.
/// </summary>
[TestClass]
public sealed class TorchvisionRoundTripTests
{
    public TestContext TestContext { get; set; } = null!;

    // Debian 12 has no python3-safetensors: the script reads the format itself (8-byte header length, JSON header, raw data).
    private const string Script = """
        import json, struct, sys
        import numpy as np, torch, torchvision
        weights, pixels_path, k, size, mean, std, logits_path, ddp_path = sys.argv[1:]
        k, size, mean, std = int(k), int(size), float(mean), float(std)
        with open(weights, 'rb') as f:
            n = struct.unpack('<Q', f.read(8))[0]
            header = json.loads(f.read(n))
            data = f.read()
        dtypes = {'F32': np.float32, 'I64': np.int64}
        state = {}
        for key, e in header.items():
            if key == '__metadata__':
                continue
            a, b = e['data_offsets']
            state[key] = torch.from_numpy(np.frombuffer(data[a:b], dtype=dtypes[e['dtype']]).reshape(e['shape']).copy())
        model = torchvision.models.efficientnet_b0(num_classes=k)
        model.load_state_dict(state, strict=True)
        model.eval()
        raw = np.fromfile(pixels_path, dtype=np.float32).reshape(-1, 3, size, size)
        x = torch.from_numpy((raw / 255.0 - mean) / std).float()
        with torch.no_grad():
            model(x).numpy().astype(np.float32).tofile(logits_path)
        # What a DistributedDataParallel job saves: the wrapped module's keys under 'module.'.
        torch.save({'module.' + key: v for key, v in model.state_dict().items()}, ddp_path)
        print('strict load ok', len(state), 'tensors')
        """;

    [TestMethod]
    public void TrainedCheckpointLoadsStrictlyIntoTorchvisionAndDdpWeightsComeBack()
    {
        using var dir = new TemporaryDirectory();
        const int size = 32;
        const float mean = 0.286f, std = 0.353f;
        int[] classes = [1, 7, 8]; // Trouser, Sneaker, Bag
        var train = new FashionMnistImageSet(true, classes).TakePerClass(16);
        var result = EfficientNetTrainer.Train(new EfficientNetTrainingOptions
        {
            InitialWeights = null, // from scratch
            Epochs = 1,
            BatchSize = 16,
            ImageSize = size,
            Recipe = PreprocessingRecipe.Centered(size, 1.0, new RgbValues(mean, mean, mean), new RgbValues(std, std, std)),
            LearningRate = 3e-3,
            ValidationFraction = 0,
            OutputDirectory = Path.Combine(dir.Path, "run"),
            Seed = 11,
            LogEverySteps = 0,
        }, train);
        Assert.AreEqual(TrainingStatus.Completed, result.Status, result.Message);

        // Two real test images as the exported model takes them, raw 0–255 RGB planes: each 28 px image on a 32 px black canvas.
        var test = new FashionMnistImageSet(false, classes);
        var pixels = new float[2 * 3 * size * size];
        for (int n = 0; n < 2; n++)
        {
            var image = test.Load(n * 500);
            Assert.AreEqual(28, image.Width);
            for (int ch = 0; ch < 3; ch++)
                for (int y = 0; y < size; y++)
                    for (int x = 0; x < size; x++)
                    {
                        int sx = x - 2, sy = y - 2;
                        pixels[((n * 3 + ch) * size + y) * size + x] = sx is >= 0 and < 28 && sy is >= 0 and < 28 ? image.Pixels[(sy * 28 + sx) * 3 + ch] : 0f;
                    }
        }
        long[] shape = [2, 3, size, size];
        var onnx = OnnxRunner.Run(File.ReadAllBytes(result.OnnxPath!), OnnxExportOptions.ImageInputName, pixels, shape)[OnnxExportOptions.LogitsOutputName];

        string pixelsPath = Path.Combine(dir.Path, "pixels.f32"), logitsPath = Path.Combine(dir.Path, "torch-logits.f32"), ddp = Path.Combine(dir.Path, "ddp.pth");
        File.WriteAllBytes(pixelsPath, System.Runtime.InteropServices.MemoryMarshal.AsBytes(pixels.AsSpan()).ToArray());
        var c = CultureInfo.InvariantCulture;
        var start = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in (string[])["-c", Script, result.WeightsPath!, pixelsPath, classes.Length.ToString(c), size.ToString(c), mean.ToString("R", c), std.ToString("R", c), logitsPath, ddp])
            start.ArgumentList.Add(a);
        using (var python = Process.Start(start)!)
        {
            var output = python.StandardOutput.ReadToEndAsync();
            string error = python.StandardError.ReadToEnd();
            Assert.IsTrue(python.WaitForExit(TimeSpan.FromMinutes(3)), "python did not finish");
            Assert.AreEqual(0, python.ExitCode, error);
            StringAssert.Contains(output.Result, "strict load ok 360 tensors");
        }
        var torchLogits = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(logitsPath)).ToArray();
        Assert.AreEqual(2 * classes.Length, torchLogits.Length);
        double diff = Parity.AssertClose(torchLogits, onnx, "torchvision vs exported ONNX logits");
        TestContext.WriteLine($"torchvision vs ONNX: max |Δ| {diff:E2}");

        // Back: PyTorch's DDP-style file through the importer (module. unwrapped), tensor for tensor, then logits.
        var back = EfficientNetCheckpoint.Load(ddp, EfficientNetVariant.B0);
        var trained = EfficientNetCheckpoint.Load(result.WeightsPath!, EfficientNetVariant.B0);
        Assert.AreEqual(classes.Length, back.Spec.NumClasses);
        foreach (var (key, tensor) in trained.Weights.Entries)
        {
            if (key.EndsWith("num_batches_tracked", StringComparison.Ordinal)) continue;
            CollectionAssert.AreEqual(tensor.Values, back.Weights[key].Values, key);
        }
        var exported = EfficientNetOnnxExporter.Export(back, new OnnxExportOptions { Preprocessing = result.Recipe });
        var again = OnnxRunner.Run(exported, OnnxExportOptions.ImageInputName, pixels, shape)[OnnxExportOptions.LogitsOutputName];
        Parity.AssertClose(onnx, again, "ONNX of the DDP file vs the trained model's ONNX");
    }
}
