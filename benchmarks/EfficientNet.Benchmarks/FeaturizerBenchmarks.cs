using BenchmarkDotNet.Attributes;
using Microsoft.ML;
using Microsoft.ML.Data;
using EfficientNet.Cli.Bench.Measuring;
using Microsoft.ML.EfficientNet.Scoring;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.Transforms.Image;
using Microsoft.ML.EfficientNet.Runtime;

namespace EfficientNet.Benchmarks;

/// <summary>
/// EfficientNet-B0 features for the same JPEGs, three ways, in one run:
/// the featurizer's batched path on the path column (decode → resize → pixels → ONNX Runtime on batches, next images
/// decoded meanwhile), the plain ML.NET chain as a user runs it (the featurizer's saved model reloaded with
/// <c>Model.Load</c> in a fresh context: LoadImages → ResizeImages → ExtractPixels → ApplyOnnxModel, one row at a time,
/// ONNX Runtime's default threads), and, with pixels already prepared, the featurizer's scorer vs a raw ONNX Runtime
/// session at batch 32. <c>efficientnet bench</c> measures every peer at its best configuration as well; this class
/// keeps BenchmarkDotNet's statistics for the default ones.
/// </summary>
/// <remarks>
/// An earlier version timed the featurizer's in-process <see cref="EfficientNetFeaturizerTransformer.StandardChain"/>
/// (fitted on an <c>MLImage</c> column, fed by a separate <c>LoadImages</c>) as "the plain chain": it is not what a user
/// runs, who loads the saved model, and it measured 60 images/s where the reloaded model ran at 84–93.
/// </remarks>
[Config(typeof(WholeRunConfig))]
public class FeaturizerBenchmarks
{
    private const int Images = 128;
    private const int Batch = 32;

    private MLContext _ml = null!;
    private IDataView _paths = null!;
    private EfficientNetFeaturizerTransformer _featurizer = null!;
    private ITransformer _plainChain = null!;
    private string _savedModel = null!;
    private InferenceSession _raw = null!;
    private EfficientNetOnnxSession _scorer = null!;
    private float[] _pixels = null!;
    private float[] _features = null!;
    private int _size;

    public sealed class PathRow
    {
        public string Path { get; set; } = "";
    }

    [GlobalSetup]
    public void Setup()
    {
        _ml = new MLContext(seed: 1);
        var files = BenchmarkImages.Files(Images);
        _paths = _ml.Data.LoadFromEnumerable(files.Select(f => new PathRow { Path = f }).ToList());
        _featurizer = _ml.Transforms.EfficientNetFeaturizer("b0", inputColumnName: "Path", options: new EfficientNetFeaturizerOptions { UseRandomWeights = true }).Fit(_paths);
        _size = _featurizer.Metadata.InputSize;

        // The plain ML.NET chain as a user runs it: the featurizer's saved model (LoadImages → ResizeImages →
        // ExtractPixels → ApplyOnnxModel on the same ONNX model), reloaded in a fresh context.
        _savedModel = Path.Combine(Path.GetTempPath(), $"efficientnet-featurizer-bench-{Environment.ProcessId}.zip");
        _ml.Model.Save(_featurizer, _paths.Schema, _savedModel);
        _plainChain = new MLContext(seed: 1).Model.Load(_savedModel, out _);

        // Prepared pixels for the inference-only comparison: the featurizer's own preprocessing, done beforehand.
        (_pixels, _) = FeaturizerMeasurements.PreparedPixels(_ml, _paths, "Path", _featurizer.Metadata.Preprocessing, Images);
        _features = new float[Images * _featurizer.Metadata.FeatureWidth];
        _raw = new InferenceSession(_featurizer.OnnxModel.ToArray());
        // The featurizer's scorer: its model and output, at the settings its default options give the session.
        _scorer = new EfficientNetOnnxSession(_featurizer.OnnxModel.ToArray(), _featurizer.OutputColumnName);
    }

    [Benchmark(Baseline = true, Description = "saved ML.NET chain reloaded, row at a time (JPEG path → features)")]
    public int PlainMlNetChain() => FeaturizerMeasurements.Consume(_plainChain.Transform(_paths), "Features", Images);

    [Benchmark(Description = "EfficientNetFeaturizer, batched (JPEG path → features)")]
    public int BatchedFeaturizer() => FeaturizerMeasurements.Consume(_featurizer.Transform(_paths), "Features", Images);

    [Benchmark(Description = "raw ONNX Runtime, batch 32 (prepared pixels)")]
    public float RawOnnxRuntime()
    {
        int length = 3 * _size * _size, width = _featurizer.Metadata.FeatureWidth;
        float sum = 0;
        for (int start = 0; start < Images; start += Batch)
        {
            using var input = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, new Memory<float>(_pixels, start * length, Batch * length), [Batch, 3, _size, _size]);
            using var outputs = _raw.Run(new RunOptions(), [_raw.InputNames[0]], [input], [_raw.OutputNames[0]]);
            sum += outputs[0].GetTensorDataAsSpan<float>()[0];
        }
        return sum;
    }

    [Benchmark(Description = "featurizer's scorer, batch 32 (prepared pixels)")]
    public float FeaturizerScorer()
    {
        _scorer.ScoreAll(_pixels, Images, _features, Batch);
        return _features[0];
    }

    [Benchmark(Description = "featurizer's scorer, default batch 8 (prepared pixels)")]
    public float FeaturizerScorerDefaultBatch()
    {
        _scorer.ScoreAll(_pixels, Images, _features, EfficientNetFeaturizerOptions.Defaults.BatchSize);
        return _features[0];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _featurizer.Dispose();
        (_plainChain as IDisposable)?.Dispose();
        _raw.Dispose();
        _scorer.Dispose();
        File.Delete(_savedModel);
    }
}
