using System.Diagnostics;
using Microsoft.ML.EfficientNet.Data;
using Microsoft.Extensions.Logging;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.EfficientNet;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Evaluation;
using Microsoft.ML.EfficientNet.Onnx;
using Microsoft.ML.EfficientNet.Scoring;
using Microsoft.ML.OnnxRuntime;

namespace EfficientNet.Training.Comparison;

/// <summary>How a comparison measures an exported candidate: as deployed, through ONNX Runtime.</summary>
internal static class CandidateMeasurements
{
    /// <summary>Macro-averaged F1 from a confusion matrix [true, predicted]: the mean over classes of 2·P·R/(P+R), a class with no examples and no predictions left out.</summary>
    /// <param name="confusion">Counts of [true class, predicted class].</param>
    /// <returns>Macro-F1 in [0, 1], NaN when the matrix is empty.</returns>
    public static double MacroF1(long[,] confusion)
    {
        ArgumentNullException.ThrowIfNull(confusion);
        int k = confusion.GetLength(0);
        double sum = 0;
        int counted = 0;
        for (int c = 0; c < k; c++)
        {
            long tp = confusion[c, c], actual = 0, predicted = 0;
            for (int j = 0; j < k; j++)
            {
                actual += confusion[c, j];
                predicted += confusion[j, c];
            }
            if (actual == 0 && predicted == 0) continue;
            sum += 2.0 * tp / (actual + predicted); // = 2PR/(P+R)
            counted++;
        }
        return counted == 0 ? double.NaN : sum / counted;
    }

    /// <summary>
    /// Held-out metrics of an exported candidate, its size, and its latency and throughput on this machine: the
    /// succeeded form of <paramref name="blank"/>. Both strategies measure through here, so their numbers compare.
    /// </summary>
    /// <remarks>
    /// Accuracy and speed take two scoring paths on purpose. Accuracy, macro-F1, top-5 and the confusion matrix go
    /// through <see cref="OnnxModelEvaluation"/>, the path of <c>efficientnet evaluate</c>, so a candidate's accuracy is
    /// the number that command gives for its model file; it needs the <c>logits</c> output and the labels. Speed goes
    /// through the featurizer (<see cref="Speed"/>), the path an ML.NET pipeline deploys, with its batching and
    /// concurrency; the featurizer's column is the <c>features</c> output, so it cannot give the labelled logits that
    /// accuracy needs, and timing the evaluation path would time a loop no deployment runs. Both read the same model
    /// file with the same recipe in its metadata.
    /// </remarks>
    internal static CandidateResult Measure(CandidateResult blank, string model, LabeledImageSet heldOut, EfficientNetComparisonSettings settings)
    {
        var metrics = OnnxModelEvaluation.Evaluate(model, heldOut, OnnxModelEvaluation.DefaultBatchSize, settings.Logger).Metrics;
        var (p50, p95, throughput) = Speed(blank.Variant, model, heldOut, settings.LatencyWarmupRuns, settings.LatencyRuns, settings.ThroughputImages, settings.Logger);
        return blank with
        {
            Status = CandidateStatus.Succeeded,
            Accuracy = metrics.Accuracy * 100,
            MacroF1 = MacroF1(metrics.Confusion),
            // With five classes or fewer every answer is in the top five: the number says nothing.
            Top5 = metrics.Classes > 5 ? metrics.Top5Accuracy * 100 : double.NaN,
            Confusion = metrics.Confusion,
            OnnxBytes = new FileInfo(model).Length,
            LatencyMilliseconds = p50,
            LatencyP95Milliseconds = p95,
            Throughput = throughput,
            ModelPath = model,
        };
    }

    /// <summary>
    /// Speed through the featurizer's batched path (<c>EfficientNetFeaturizer</c> with the exported model as its
    /// weights): batch-1 latency (one image per ONNX Runtime call, one call at a time; p50 and p95 over
    /// <paramref name="runs"/> timed runs after <paramref name="warmup"/> untimed ones, each run a whole pass of one image
    /// through the transformer), and throughput in images per second at the featurizer's default batch size and
    /// concurrency over <paramref name="throughputImages"/> images after one untimed pass.
    /// </summary>
    /// <param name="variant">The model's variant.</param>
    /// <param name="model">The .onnx file (with a <c>features</c> output).</param>
    /// <param name="images">Images to score (cycled as needed).</param>
    /// <param name="warmup">Untimed batch-1 runs.</param>
    /// <param name="runs">Timed batch-1 runs.</param>
    /// <param name="throughputImages">Images in the timed throughput pass.</param>
    /// <param name="logger">Featurizer warnings.</param>
    public static (double P50Milliseconds, double P95Milliseconds, double ImagesPerSecond) Speed(EfficientNetVariant variant, string model, LabeledImageSet images,
        int warmup, int runs, int throughputImages, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(variant);
        ArgumentNullException.ThrowIfNull(images);
        var ml = new MLContext(0);
        IDataView one = new ImageSetDataView(images.Subset([0]), logger);
        var times = new double[runs];
        using (var single = Featurizer(ml, variant, model, one, new EfficientNetFeaturizerOptions { WeightsPath = model, BatchSize = 1, ConcurrentBatches = 1, Logger = logger }))
        {
            for (int i = 0; i < warmup + runs; i++)
            {
                var clock = Stopwatch.StartNew();
                int scored = Drain(single, one);
                if (scored != 1) throw new InvalidDataException($"{images.Describe(0)} could not be scored.");
                if (i >= warmup) times[i - warmup] = clock.Elapsed.TotalMilliseconds;
            }
        }
        Array.Sort(times);

        IDataView many = new ImageSetDataView(images.Subset(Enumerable.Range(0, throughputImages).Select(i => i % images.Count).ToArray()), logger);
        double perSecond;
        using (var batched = Featurizer(ml, variant, model, many, new EfficientNetFeaturizerOptions { WeightsPath = model, Logger = logger }))
        {
            Drain(batched, many);
            var clock = Stopwatch.StartNew();
            int scored = Drain(batched, many);
            perSecond = scored / clock.Elapsed.TotalSeconds;
        }
        return (Percentile(times, 0.50), Percentile(times, 0.95), perSecond);
    }

    /// <summary>The value below which a share <paramref name="p"/> of the sorted values lie (linear interpolation between ranks, as NumPy's default).</summary>
    /// <param name="sorted">Values in ascending order.</param>
    /// <param name="p">Share in [0, 1].</param>
    public static double Percentile(IReadOnlyList<double> sorted, double p)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        if (sorted.Count == 0) return double.NaN;
        double rank = p * (sorted.Count - 1);
        int low = (int)Math.Floor(rank), high = (int)Math.Ceiling(rank);
        return sorted[low] + (sorted[high] - sorted[low]) * (rank - low);
    }

    private static EfficientNetFeaturizerTransformer Featurizer(MLContext ml, EfficientNetVariant variant, string model, IDataView data, EfficientNetFeaturizerOptions options) =>
        new EfficientNetFeaturizerEstimator(ml.Transforms, variant, EfficientNetCatalog.DefaultOutputColumnName, ImageSetDataView.ImageColumn, options).Fit(data);

    private static int Drain(EfficientNetFeaturizerTransformer featurizer, IDataView data)
    {
        var output = featurizer.Transform(data);
        var column = output.Schema[featurizer.OutputColumnName];
        using var cursor = output.GetRowCursor([column]);
        var getter = cursor.GetGetter<VBuffer<float>>(column);
        VBuffer<float> buffer = default;
        int count = 0;
        while (cursor.MoveNext())
        {
            getter(ref buffer);
            count++;
        }
        return count;
    }
}

/// <summary>
/// The process's largest resident memory while something runs. Linux keeps one high-water mark per process (VmHWM)
/// that cannot be reset, so VmRSS is also sampled every 50 ms: the result is VmHWM when the watched work raised it,
/// else the largest sample.
/// </summary>
internal sealed class PeakMemory
{
    private readonly long _startHighWater;
    private readonly Timer _timer;
    private long _sampled;

    private PeakMemory()
    {
        _startHighWater = Read("VmHWM:");
        _sampled = Read("VmRSS:");
        _timer = new Timer(_ => Sample(), null, 50, 50);
    }

    public static PeakMemory Start() => new();

    /// <summary>Stops sampling; the peak in MiB.</summary>
    public double Stop()
    {
        _timer.Dispose();
        Sample();
        long highWater = Read("VmHWM:");
        long peak = highWater > _startHighWater ? highWater : Interlocked.Read(ref _sampled);
        if (peak <= 0) peak = Environment.WorkingSet; // not Linux: the current working set is the best available
        return peak / (1024.0 * 1024.0);
    }

    private void Sample()
    {
        long now = Read("VmRSS:");
        long seen;
        while (now > (seen = Interlocked.Read(ref _sampled)) && Interlocked.CompareExchange(ref _sampled, now, seen) != seen) { }
    }

    /// <summary>A field of /proc/self/status in bytes, 0 where there is none.</summary>
    private static long Read(string field)
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/self/status"))
            {
                if (!line.StartsWith(field, StringComparison.Ordinal)) continue;
                var parts = line[field.Length..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return long.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return 0;
    }
}
