using BenchmarkDotNet.Attributes;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.EfficientNet.Scoring;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.Transforms.Image;

namespace EfficientNet.Benchmarks;

/// <summary>
/// EfficientNet-B0 features for the same JPEGs, three ways, in one run:
/// the featurizer's batched path (decode → resize → pixels → ONNX Runtime on batches of 32, next batch decoded meanwhile),
/// the plain ML.NET chain on the same ONNX model (LoadImages → ResizeImages → ExtractPixels → ApplyOnnxModel, one row at
/// a time), and, with pixels already prepared, the featurizer's scorer vs a raw ONNX Runtime session at batch 32.
/// </summary>
[Config(typeof(WholeRunConfig))]
public class FeaturizerBenchmarks
{
    private const int Images = 128;
    private const int Batch = 32;

    private MLContext _ml = null!;
    private IDataView _paths = null!;
    private EfficientNetFeaturizerTransformer _featurizer = null!;
    private ITransformer _plainChain = null!;
    private ITransformer _loadImages = null!;
    private InferenceSession _raw = null!;
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
        var load = _ml.Transforms.LoadImages("Image", "", "Path");
        var images = load.Fit(_paths).Transform(_paths);
        _featurizer = _ml.Transforms.EfficientNetFeaturizer("b0", options: new EfficientNetFeaturizerOptions { UseRandomWeights = true }).Fit(images);
        _size = _featurizer.Metadata.InputSize;

        // The plain ML.NET chain a user would write by hand: LoadImages → ResizeImages → ExtractPixels → ApplyOnnxModel,
        // on the same ONNX model. It is exactly the featurizer's standard chain (what it saves), so it is used as is.
        _loadImages = load.Fit(_paths);
        _plainChain = _featurizer.StandardChain;

        // Prepared pixels for the inference-only comparison.
        _pixels = new float[Images * 3 * _size * _size];
        var extracted = _ml.Transforms.ResizeImages("Resized", _size, _size, "Image").Append(_ml.Transforms.ExtractPixels("P", "Resized")).Fit(images).Transform(images);
        int row = 0;
        foreach (var v in extracted.GetColumn<VBuffer<float>>("P")) v.DenseValues().ToArray().CopyTo(_pixels, row++ * 3 * _size * _size);
        _features = new float[Images * _featurizer.Metadata.FeatureWidth];
        _raw = new InferenceSession(_featurizer.OnnxModel.ToArray());
    }

    [Benchmark(Baseline = true, Description = "ML.NET chain, row at a time (JPEG → features)")]
    public int PlainMlNetChain() => Consume(_plainChain.Transform(_loadImages.Transform(_paths)));

    [Benchmark(Description = "EfficientNetFeaturizer, batched (JPEG → features)")]
    public int BatchedFeaturizer() => Consume(_featurizer.Transform(_loadImages.Transform(_paths)));

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
        _featurizer.Scorer.ScoreAll(_pixels, Images, _features, Batch);
        return _features[0];
    }

    [Benchmark(Description = "featurizer's scorer, default batch 8 (prepared pixels)")]
    public float FeaturizerScorerDefaultBatch()
    {
        _featurizer.Scorer.ScoreAll(_pixels, Images, _features, EfficientNetFeaturizerOptions.Defaults.BatchSize);
        return _features[0];
    }

    private static int Consume(IDataView view)
    {
        int rows = 0;
        foreach (var _ in view.GetColumn<VBuffer<float>>("Features")) rows++;
        return rows == Images ? rows : throw new InvalidOperationException($"{rows} rows scored, {Images} expected.");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _featurizer.Dispose();
        _raw.Dispose();
    }
}
