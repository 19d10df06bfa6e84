using BenchmarkDotNet.Attributes;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.EfficientNet.Scoring;

namespace EfficientNet.Benchmarks;

/// <summary>
/// EfficientNet-B0 features for the same phone-camera-sized JPEGs (4032×3024), from a column of paths, three ways in one
/// run: the plain ML.NET chain (LoadImages → ResizeImages → ExtractPixels → ApplyOnnxModel, the featurizer's saved
/// chain), the featurizer's batched path decoding at full size, and the batched path with
/// <see cref="EfficientNetFeaturizerOptions.ReducedScaleJpegDecoding"/> (1/8 scale: 504×378 for the 256-px resize).
/// </summary>
[Config(typeof(WholeRunConfig))]
public class LargePhotoBenchmarks
{
    private const int Images = 32;

    private IDataView _paths = null!;
    private EfficientNetFeaturizerTransformer _fullDecode = null!;
    private EfficientNetFeaturizerTransformer _reducedDecode = null!;

    [GlobalSetup]
    public void Setup()
    {
        var ml = new MLContext(seed: 1);
        var files = BenchmarkImages.Files(Images, BenchmarkImages.LargePhotosVariable);
        _paths = ml.Data.LoadFromEnumerable(files.Select(f => new FeaturizerBenchmarks.PathRow { Path = f }).ToList());
        _fullDecode = ml.Transforms.EfficientNetFeaturizer("b0", inputColumnName: "Path", options: new EfficientNetFeaturizerOptions { UseRandomWeights = true }).Fit(_paths);
        _reducedDecode = ml.Transforms.EfficientNetFeaturizer("b0", inputColumnName: "Path",
            options: new EfficientNetFeaturizerOptions { UseRandomWeights = true, ReducedScaleJpegDecoding = true }).Fit(_paths);
    }

    [Benchmark(Baseline = true, Description = "ML.NET chain, row at a time (4032×3024 JPEG → features)")]
    public int PlainMlNetChain() => Consume(_fullDecode.StandardChain.Transform(_paths));

    [Benchmark(Description = "EfficientNetFeaturizer, batched, full decode")]
    public int BatchedFullDecode() => Consume(_fullDecode.Transform(_paths));

    [Benchmark(Description = "EfficientNetFeaturizer, batched, ReducedScaleJpegDecoding")]
    public int BatchedReducedScaleDecode() => Consume(_reducedDecode.Transform(_paths));

    private static int Consume(IDataView view)
    {
        int rows = 0;
        foreach (var features in view.GetColumn<VBuffer<float>>("Features"))
        {
            if (float.IsNaN(features.GetItemOrDefault(0))) throw new InvalidOperationException($"Row {rows} was not read.");
            rows++;
        }
        return rows == Images ? rows : throw new InvalidOperationException($"{rows} rows scored, {Images} expected.");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _fullDecode.Dispose();
        _reducedDecode.Dispose();
    }
}
