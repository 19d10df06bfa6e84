using Microsoft.ML.EfficientNet.Data;
using Microsoft.ML.EfficientNet.Preprocessing;
using EfficientNet.Training.Data;

namespace Microsoft.ML.EfficientNet.Tests.Data;

/// <summary>
/// The trainer's loader over a long run. Each epoch streams batches from worker threads; nothing may
/// accumulate from epoch to epoch (decoded images, batches, queues), or a long fine-tuning run grows until it dies.
/// </summary>
[TestClass]
public sealed class TrainingBatchesMemoryTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void TheLoaderKeepsItsMemoryFlatOverEpochs()
    {
        var images = new FashionMnistImageSet(train: true, [1, 8]).TakePerClass(400);
        var augmentation = new TrainAugmentation
        {
            OutputSize = 32, Mean = new RgbValues(0.286f, 0.286f, 0.286f), Std = new RgbValues(0.353f, 0.353f, 0.353f), CropScale = null, ShiftPixels = 2,
        };
        var loader = new TrainingBatches(images, augmentation, batchSize: 16, seed: 3);
        const int epochs = 8;
        var managed = new long[epochs];
        int batches = 0;
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            foreach (var batch in loader.Epoch(epoch))
            {
                Assert.AreEqual(16, batch.Count);
                batches++;
            }
            managed[epoch] = GC.GetTotalMemory(forceFullCollection: true);
        }
        double growthMB = (managed[^1] - managed[0]) / 1048576.0;
        TestContext.WriteLine($"{batches} batches over {epochs} epochs; managed heap after each epoch (MB): {string.Join(", ", managed.Select(m => (m / 1048576.0).ToString("F1", System.Globalization.CultureInfo.InvariantCulture)))}; growth epoch 1 → {epochs}: {growthMB:F2} MB");
        Assert.AreEqual(epochs * 50, batches);
        // One epoch of 800 images at 32 px is 9.8 MB of float pixels; keeping even a tenth of it per epoch would show.
        Assert.IsTrue(growthMB < 1.0, $"the managed heap grew {growthMB:F2} MB over {epochs - 1} epochs");
    }
}
