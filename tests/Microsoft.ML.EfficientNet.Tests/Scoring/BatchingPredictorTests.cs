using Microsoft.ML.EfficientNet.Scoring;
using Microsoft.ML.EfficientNet.Tests.Explain;

namespace Microsoft.ML.EfficientNet.Tests.Scoring;

/// <summary>
/// The batcher scores concurrent callers' images together with the predictor's answers, refuses beyond its queue,
/// drops cancelled images before scoring, and finishes what it accepted when disposed.
/// </summary>
[TestClass]
public sealed class BatchingPredictorTests
{
    public TestContext TestContext { get; set; } = null!;

    // Scores of the same image in a batch of N and on its own differ only by ONNX Runtime's summation order.
    private const float ScoreTolerance = 1e-5f;

    private static byte[][] GoodImages() => ImageData.GoodRows().Select(r => File.ReadAllBytes(Path.Combine(ImageData.Folder, r.Path))).ToArray();

    [TestMethod]
    public async Task ConcurrentRequestsGetTheSameLabelsAndScoresAsOneAtATime()
    {
        using var dir = new TemporaryDirectory();
        using var predictor = EfficientNetPredictor.Load(ClassActivationMapTests.TinyModel(dir.Path).Model);
        var images = GoodImages();
        Assert.AreEqual(12, images.Length);
        var alone = images.Select(b => predictor.Predict(b, top: 3)).ToArray();

        var batcher = new BatchingPredictor(predictor, new BatchingPredictorOptions { MaxBatch = 8, MaxWait = TimeSpan.FromSeconds(1) });
        await using (batcher)
        {
            var start = new TaskCompletionSource();
            var calls = images.Select(b => Task.Run(async () => { await start.Task; return await batcher.PredictAsync(b, top: 3); })).ToArray();
            start.SetResult();
            var together = await Task.WhenAll(calls);
            TestContext.WriteLine($"{batcher.ScoredImages} images in {batcher.Batches} batches");
            Assert.AreEqual(12, batcher.ScoredImages);
            Assert.IsTrue(batcher.Batches < 12, $"{batcher.Batches} batches for 12 concurrent images: none was batched");
            for (int i = 0; i < images.Length; i++)
            {
                CollectionAssert.AreEqual(alone[i].Top.Select(c => c.Label).ToArray(), together[i].Top.Select(c => c.Label).ToArray(), $"image {i}");
                for (int k = 0; k < 3; k++) Assert.AreEqual(alone[i].Top[k].Score, together[i].Top[k].Score, ScoreTolerance, $"image {i}, rank {k}");
                for (int c = 0; c < alone[i].Logits!.Count; c++) Assert.AreEqual(alone[i].Logits![c], together[i].Logits![c], 1e-4f * Math.Max(1, Math.Abs(alone[i].Logits![c])), $"image {i}, logit {c}");
            }
        }
    }

    [TestMethod]
    public async Task ALoneRequestIsScoredWithoutWaitingForABatchToFill()
    {
        using var dir = new TemporaryDirectory();
        using var predictor = EfficientNetPredictor.Load(ClassActivationMapTests.TinyModel(dir.Path).Model);
        var images = GoodImages();
        await using var batcher = new BatchingPredictor(predictor, new BatchingPredictorOptions { MaxBatch = 8, MaxWait = TimeSpan.FromSeconds(20) });
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (int i = 0; i < 3; i++) Assert.AreEqual(predictor.Predict(images[i]).Label, (await batcher.PredictAsync(images[i])).Label);
        // No other caller was preparing an image, so no batch waited its 20 s.
        Assert.IsTrue(clock.Elapsed < TimeSpan.FromSeconds(10), $"3 lone requests took {clock.Elapsed}");
        Assert.AreEqual(3, batcher.Batches);
    }

    [TestMethod]
    public async Task AFullQueueRefusesTheNextImageAndScoresTheAcceptedOnes()
    {
        using var dir = new TemporaryDirectory();
        using var predictor = EfficientNetPredictor.Load(ClassActivationMapTests.TinyModel(dir.Path).Model);
        var images = GoodImages();
        var hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var batcher = new BatchingPredictor(predictor, new BatchingPredictorOptions { MaxBatch = 1, QueueCapacity = 2 }) { BeforeBatchForTests = () => hold.Task };
        var first = batcher.PredictAsync(images[0]);
        var second = batcher.PredictAsync(images[1]);
        var refused = Assert.ThrowsExactly<PredictionQueueFullException>(() => batcher.PredictAsync(images[2]));
        Assert.AreEqual(2, refused.QueueCapacity);
        StringAssert.Contains(refused.Message, "QueueCapacity");
        hold.SetResult();
        Assert.AreEqual(predictor.Predict(images[0]).Label, (await first).Label);
        Assert.AreEqual(predictor.Predict(images[1]).Label, (await second).Label);
        Assert.AreEqual(2, batcher.ScoredImages);
        Assert.IsNotNull((await batcher.PredictAsync(images[2])).Label, "accepted again once the queue has room");
    }

    [TestMethod]
    public async Task ACancelledRequestIsDroppedBeforeScoring()
    {
        using var dir = new TemporaryDirectory();
        using var predictor = EfficientNetPredictor.Load(ClassActivationMapTests.TinyModel(dir.Path).Model);
        var images = GoodImages();
        var hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var batcher = new BatchingPredictor(predictor, new BatchingPredictorOptions { MaxBatch = 8, MaxWait = TimeSpan.Zero }) { BeforeBatchForTests = () => hold.Task };
        using var abandon = new CancellationTokenSource();
        var kept = batcher.PredictAsync(images[0]);
        var abandoned = batcher.PredictAsync(images[1], cancellationToken: abandon.Token);
        var alsoKept = batcher.PredictAsync(images[2]);
        abandon.Cancel();
        await Assert.ThrowsExactlyAsync<TaskCanceledException>(() => abandoned);
        hold.SetResult();
        await Task.WhenAll(kept, alsoKept);
        Assert.AreEqual(2, batcher.ScoredImages, "the cancelled image was not scored");
        Assert.AreEqual(1, batcher.Batches);
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.ThrowsExactly<OperationCanceledException>(() => batcher.PredictAsync(images[3], cancellationToken: cancelled.Token));
    }

    [TestMethod]
    public async Task DisposeScoresEveryAcceptedImageAndRefusesNewOnes()
    {
        using var dir = new TemporaryDirectory();
        using var predictor = EfficientNetPredictor.Load(ClassActivationMapTests.TinyModel(dir.Path).Model);
        var images = GoodImages();
        var hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var batcher = new BatchingPredictor(predictor, new BatchingPredictorOptions { MaxBatch = 2, MaxWait = TimeSpan.FromSeconds(30) }) { BeforeBatchForTests = () => hold.Task };
        var accepted = images.Take(5).Select(b => batcher.PredictAsync(b)).ToArray();
        var stopping = batcher.DisposeAsync().AsTask();
        Assert.ThrowsExactly<ObjectDisposedException>(() => batcher.PredictAsync(images[5]));
        Assert.IsFalse(stopping.IsCompleted, "dispose waits for the accepted images");
        hold.SetResult();
        await stopping;
        var results = await Task.WhenAll(accepted);
        Assert.AreEqual(5, batcher.ScoredImages);
        Assert.AreEqual(3, batcher.Batches, "5 images in batches of at most 2");
        for (int i = 0; i < 5; i++) Assert.AreEqual(predictor.Predict(images[i]).Label, results[i].Label, $"image {i}");
    }

    [TestMethod]
    public async Task AnUndecodableImageFailsItsOwnCallBeforeTheQueue()
    {
        using var dir = new TemporaryDirectory();
        using var predictor = EfficientNetPredictor.Load(ClassActivationMapTests.TinyModel(dir.Path).Model);
        await using var batcher = new BatchingPredictor(predictor, new BatchingPredictorOptions { QueueCapacity = 1 });
        var good = GoodImages()[0];
        var cases = new (string Name, byte[] Bytes, string Why)[]
        {
            ("text", "not an image"u8.ToArray(), "not an image"),
            ("empty", [], "empty"),
            ("truncated", File.ReadAllBytes(Fixtures.Generated("images/bad/truncated.jpg")), "truncated"),
            ("huge header", HandPng.Write(100_000, 100_000, 2, 8, new byte[1000]), "100000×100000"),
        };
        foreach (var (name, bytes, why) in cases)
        {
            var e = await Assert.ThrowsExactlyAsync<InvalidDataException>(() => batcher.PredictAsync(bytes, source: "the body"), name);
            StringAssert.Contains(e.Message, "'the body'", name);
            StringAssert.Contains(e.Message, why, name);
        }
        Assert.AreEqual(0, batcher.ScoredImages);
        var explained = await batcher.ExplainAsync(good, top: 2);
        Assert.AreEqual(predictor.Predict(good).Label, explained.Label);
        Assert.IsNotNull(explained.ActivationMap);
        Assert.AreEqual(explained.ClassIndex, explained.ActivationMap.ClassIndex);
    }
}
