using Microsoft.ML.Data;
using Microsoft.ML.EfficientNet.Scoring;

namespace Microsoft.ML.EfficientNet.Tests.Scoring;

/// <summary>
/// One fitted featurizer shared by 8 threads gives bit-for-bit the features it gives one thread, through prediction engines
/// (the standard chain's ApplyOnnxModel session) and through parallel Transform cursors (the batched session); disposing
/// it frees its sessions.
/// </summary>
[TestClass]
public sealed class ConcurrencyTests
{
    private const int Threads = 8;

    private sealed class PathRow
    {
        public string Path { get; set; } = "";
    }

    private sealed class FeaturesRow
    {
        [VectorType(1280)]
        public float[] Features { get; set; } = [];
    }

    private static EfficientNetFeaturizerOptions Options() => new()
    {
        WeightsPath = Fixtures.Generated("b0.torchvision.pth"),
        Resolution = 64,
        BatchSize = 3,
    };

    private static PathRow[] Rows() => ImageData.GoodRows().Select(r => new PathRow { Path = Path.Combine(ImageData.Folder, r.Path) }).ToArray();

    [TestMethod]
    public void EightThreadsGiveBitForBitTheFeaturesOfOne()
    {
        var ml = new MLContext(seed: 1);
        var rows = Rows();
        var data = ml.Data.LoadFromEnumerable(rows);
        using var featurizer = ml.Transforms.EfficientNetFeaturizer("b0", inputColumnName: "Path", options: Options()).Fit(data);

        // One thread: a prediction engine, and one Transform cursor.
        var engine = ml.Model.CreatePredictionEngine<PathRow, FeaturesRow>(featurizer);
        var predicted = rows.Select(r => engine.Predict(r).Features.ToArray()).ToArray();
        var transformed = ImageData.Column(featurizer.Transform(data), "Features");

        // Eight threads at once, each with its own prediction engine, and eight parallel Transform cursors.
        using var start = new Barrier(2 * Threads);
        var engines = Enumerable.Range(0, Threads).Select(_ => Task.Factory.StartNew(() =>
        {
            var own = ml.Model.CreatePredictionEngine<PathRow, FeaturesRow>(featurizer);
            start.SignalAndWait();
            return Enumerable.Range(0, 3).SelectMany(_ => rows).Select(r => own.Predict(r).Features.ToArray()).ToArray();
        }, TaskCreationOptions.LongRunning)).ToArray();
        var cursors = Enumerable.Range(0, Threads).Select(_ => Task.Factory.StartNew(() =>
        {
            start.SignalAndWait();
            return Enumerable.Range(0, 3).SelectMany(_ => ImageData.Column(featurizer.Transform(data), "Features")).ToArray();
        }, TaskCreationOptions.LongRunning)).ToArray();
        Assert.IsTrue(Task.WaitAll([.. engines, .. cursors], TimeSpan.FromMinutes(5)), "no thread hangs");

        for (int t = 0; t < Threads; t++)
        {
            for (int i = 0; i < 3 * rows.Length; i++)
            {
                CollectionAssert.AreEqual(predicted[i % rows.Length], engines[t].Result[i], $"engine on thread {t}, row {i}");
                CollectionAssert.AreEqual(transformed[i % rows.Length], cursors[t].Result[i], $"cursor on thread {t}, row {i}");
            }
        }
        // The two paths agree as the featurizer promises (the batched path scores other batch shapes).
        for (int i = 0; i < rows.Length; i++) Assert.IsTrue(Parity.MaxAbsDiff(predicted[i], transformed[i]) <= 1e-5);
    }

    [TestMethod]
    public void DisposingTheTransformerFreesItsSessions()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(Rows().Take(2));
        var featurizer = ml.Transforms.EfficientNetFeaturizer("b0", inputColumnName: "Path", options: Options()).Fit(data);
        var session = featurizer.Scorer;
        var input = new float[session.InputLength];
        var output = new float[session.OutputWidth];
        session.Score(input, 1, output);
        var view = featurizer.Transform(data);

        featurizer.Dispose();
        featurizer.Dispose(); // twice is harmless
        Assert.ThrowsExactly<ObjectDisposedException>(() => session.Score(input, 1, output), "the batched session is freed");
        Assert.ThrowsExactly<ObjectDisposedException>(() => featurizer.Transform(data));
        // A view made before the dispose cannot score any more: its error says why rather than reading freed memory.
        var error = Assert.Throws<Exception>(() => ImageData.Column(view, "Features"));
        Assert.IsInstanceOfType<ObjectDisposedException>(error is AggregateException a ? a.Flatten().InnerExceptions[0] : error);
    }
}
