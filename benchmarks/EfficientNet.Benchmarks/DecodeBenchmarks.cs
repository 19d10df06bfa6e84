using Microsoft.ML;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Microsoft.ML.Data;
using Microsoft.ML.EfficientNet.Architecture;
using EfficientNet.Cli.Bench.Measuring;
using Microsoft.ML.EfficientNet.Onnx;
using Microsoft.ML.EfficientNet.Preprocessing;
using Microsoft.ML.EfficientNet.Weights;
using Microsoft.ML.OnnxRuntime;
using SkiaSharp;

namespace EfficientNet.Benchmarks;

/// <summary>
/// Where the CPU goes per image: decoding a 500×375 JPEG (ML.NET's MLImage, SkiaSharp full scale and at 1/2 scale),
/// ML.NET's resize to 256, decoding a 4032×3024 JPEG at full size and at the reduced scale the featurizer would use, and
/// one B0 inference on one thread, all per image.
/// </summary>
[Config(typeof(Settings))]
public class DecodeBenchmarks
{
    private const int Images = 32;

    private sealed class Settings : ManualConfig
    {
        public Settings()
        {
            AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithLaunchCount(1).WithWarmupCount(1).WithIterationCount(5));
            WithOptions(ConfigOptions.DisableOptimizationsValidator);
        }
    }

    private string[] _files = null!;
    private byte[][] _bytes = null!;
    private InferenceSession _session = null!;
    private float[] _input = null!;

    [GlobalSetup]
    public void Setup()
    {
        _files = BenchmarkImages.Files(Images);
        _bytes = _files.Select(File.ReadAllBytes).ToArray();
        var onnx = EfficientNetOnnxExporter.Export(RandomWeights.Create(EfficientNetSpec.Create("b0")), new OnnxExportOptions { Bare = true });
        _session = new InferenceSession(onnx, new SessionOptions { IntraOpNumThreads = 1 });
        _input = new float[3 * 224 * 224];
        var ml = new Microsoft.ML.MLContext(seed: 1);
        var paths = ml.Data.LoadFromEnumerable(_files.Take(1).Select(f => new FeaturizerBenchmarks.PathRow { Path = f }).ToList());
        _pixels = ml.Transforms.LoadImages("Image", "", "Path").Append(ml.Transforms.ResizeImages("R", 256, 256, "Image"))
            .Append(ml.Transforms.ExtractPixels("P", "R")).Fit(paths).Transform(paths);
    }

    private Microsoft.ML.IDataView _pixels = null!;

    [Benchmark(Baseline = true, Description = "B0 inference, 1 image, 1 thread")]
    public float Inference()
    {
        using var value = OrtValue.CreateTensorValueFromMemory(_input, [1, 3, 224, 224]);
        using var output = _session.Run(new RunOptions(), ["input"], [value], ["logits"]);
        return output[0].GetTensorDataAsSpan<float>()[0];
    }

    [Benchmark(Description = "decode 500×375 JPEG (MLImage, as LoadImages does)")]
    public int DecodeMlImage()
    {
        using var image = MLImage.CreateFromFile(_files[0]);
        return image.Width;
    }

    [Benchmark(Description = "LoadImages → ResizeImages 256 → ExtractPixels, per image")]
    public int DecodeResizeExtract() => FeaturizerMeasurements.Consume(_pixels, "P", Images) / Images;

    [Benchmark(Description = "decode 500×375 JPEG (SkiaSharp)")]
    public int DecodeSkia()
    {
        using var bitmap = SKBitmap.Decode(_bytes[2]);
        return bitmap.Width;
    }

    [Benchmark(Description = "decode at 1/2 scale (SkiaSharp SKCodec, 250×188)")]
    public int DecodeSkiaHalf()
    {
        using var codec = SKCodec.Create(new MemoryStream(_bytes[3]));
        var size = codec.GetScaledDimensions(0.5f);
        using var bitmap = new SKBitmap(new SKImageInfo(size.Width, size.Height, SKColorType.Rgba8888));
        codec.GetPixels(bitmap.Info, bitmap.GetPixels());
        return bitmap.Width;
    }

    private string LargePhoto => _largePhoto ??= BenchmarkImages.Files(1, BenchmarkImages.LargePhotosVariable)[0];

    private string? _largePhoto;

    [Benchmark(Description = "decode 4032×3024 JPEG (MLImage, as LoadImages does)")]
    public int DecodeLargeMlImage()
    {
        using var image = MLImage.CreateFromFile(LargePhoto);
        return image.Width;
    }

    [Benchmark(Description = "decode 4032×3024 JPEG for a 256 resize (ImageDecoder at 1/8: 504×378)")]
    public int DecodeLargeReducedScale()
    {
        using var image = ImageDecoder.Default.DecodeMLImage(LargePhoto, 256);
        return image.Width;
    }

    [GlobalCleanup]
    public void Cleanup() => _session.Dispose();
}
