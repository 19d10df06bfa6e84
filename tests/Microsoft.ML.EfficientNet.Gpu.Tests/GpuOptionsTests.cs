using Microsoft.Extensions.Logging;
using Microsoft.ML;
using Microsoft.ML.EfficientNet.Scoring;

namespace Microsoft.ML.EfficientNet.Gpu.Tests;

/// <summary>
/// With Microsoft.ML.OnnxRuntime.Gpu referenced but no CUDA 13 runtime on the machine, asking for GPU 0 must either fall
/// back to the CPU with a logged warning or fail with an error that names the cause. On a machine with CUDA the first test
/// sees CUDA:0 instead, which it accepts.
/// </summary>
[TestClass]
public sealed class GpuOptionsTests
{
    private static (MLContext, IDataView) Images()
    {
        var ml = new MLContext(seed: 1);
        var data = ImageData.Load(ml, ImageData.GoodRows().Take(3));
        return (ml, ml.Transforms.LoadImages("Image", ImageData.Folder, "Path").Fit(data).Transform(data));
    }

    [TestMethod]
    public void FallbackScoresOnTheCpuAndLogsAWarning()
    {
        var (ml, images) = Images();
        var logger = new ListLogger();
        var options = new EfficientNetFeaturizerOptions { WeightsPath = Fixtures.Generated("b0.torchvision.pth"), GpuDeviceId = 0, FallbackToCpu = true, Logger = logger };
        using var featurizer = ml.Transforms.EfficientNetFeaturizer("b0", options: options).Fit(images);
        var features = ImageData.Column(featurizer.Transform(images), "Features");
        Assert.AreEqual(3, features.Count);
        if (featurizer.ExecutionProvider == "CUDA:0") return; // a real GPU: nothing fell back
        Assert.AreEqual("CPU", featurizer.ExecutionProvider);
        var warning = logger.Entries.Single(e => e.Level == LogLevel.Warning).Message;
        StringAssert.Contains(warning, "GPU 0 was requested");
        StringAssert.Contains(warning, "scoring on the CPU");

        // Same features as a CPU-only featurizer.
        using var cpu = ml.Transforms.EfficientNetFeaturizer("b0", options: new() { WeightsPath = options.WeightsPath }).Fit(images);
        var reference = ImageData.Column(cpu.Transform(images), "Features");
        for (int i = 0; i < 3; i++) Assert.IsTrue(Parity.MaxAbsDiff(reference[i], features[i]) <= 1e-5);
    }

    [TestMethod]
    public void WithoutFallbackTheErrorNamesTheCause()
    {
        var (ml, images) = Images();
        var options = new EfficientNetFeaturizerOptions { WeightsPath = Fixtures.Generated("b0.torchvision.pth"), GpuDeviceId = 0 };
        try
        {
            using var featurizer = ml.Transforms.EfficientNetFeaturizer("b0", options: options).Fit(images);
            Assert.AreEqual("CUDA:0", featurizer.ExecutionProvider, "without CUDA, Fit must fail");
        }
        catch (InvalidOperationException e)
        {
            StringAssert.Contains(e.Message, "GPU 0 was requested but ONNX Runtime's CUDA provider could not be used");
            StringAssert.Contains(e.Message, "FallbackToCpu");
            StringAssert.Contains(e.Message, "libonnxruntime_providers_cuda");
        }
    }
}
