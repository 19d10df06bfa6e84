using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;

namespace Microsoft.ML.EfficientNet.Scoring;

/// <summary>
/// One ONNX Runtime session that scores [N, 3, S, S] float batches into [N, width] outputs, on the CUDA provider when
/// asked and available, else on the CPU. <see cref="Score"/> may be called from several threads at once, up to
/// <see cref="Parallelism"/> runs proceed together.
/// </summary>
/// <remarks>
/// On the CPU the default is one intra-op thread per run and one run per core: EfficientNet's many small, memory-bound
/// depthwise layers parallelise poorly inside an operator, and whole batches on separate cores were measured 1.4× faster
/// than ONNX Runtime's own threading on 2 cores (docs/BENCHMARKS.md).
/// </remarks>
internal sealed class OnnxBatchScorer : IDisposable
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private readonly SemaphoreSlim _runs;

    public OnnxBatchScorer(byte[] model, string inputName, string outputName, int inputSize, int outputWidth,
        int? gpuDeviceId, bool fallbackToCpu, int? intraOpThreads, int? parallelism, ILogger? logger)
    {
        InputSize = inputSize;
        OutputWidth = outputWidth;
        _inputNames = [inputName];
        _outputNames = [outputName];
        if (parallelism < 1) throw new ArgumentOutOfRangeException(nameof(parallelism), parallelism, "At least one concurrent run is needed.");
        using var options = CreateOptions(gpuDeviceId, fallbackToCpu, logger, out string provider);
        ExecutionProvider = provider;
        bool onCpu = provider == "CPU";
        Parallelism = parallelism ?? (onCpu ? Environment.ProcessorCount : 1);
        if ((intraOpThreads ?? (onCpu && Parallelism > 1 ? 1 : null)) is { } threads) options.IntraOpNumThreads = threads;
        _runs = new SemaphoreSlim(Parallelism, Parallelism);
        _session = new InferenceSession(model, options);
    }

    /// <summary>How many runs may proceed at once.</summary>
    public int Parallelism { get; }

    /// <summary><c>CPU</c> or <c>CUDA:{id}</c>: where batches actually run.</summary>
    public string ExecutionProvider { get; }

    /// <summary>Side of the square input, in pixels.</summary>
    public int InputSize { get; }

    /// <summary>Length of one output row.</summary>
    public int OutputWidth { get; }

    /// <summary>Floats in one input image.</summary>
    public int InputLength => 3 * InputSize * InputSize;

    /// <summary>Scores <paramref name="count"/> images from the start of <paramref name="input"/> into <paramref name="output"/>, in one call.</summary>
    public void Score(Memory<float> input, int count, Memory<float> output)
    {
        if (count == 0) return;
        using var inputValue = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, input[..(count * InputLength)], [count, 3, InputSize, InputSize]);
        using var outputValue = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, output[..(count * OutputWidth)], [count, OutputWidth]);
        _runs.Wait();
        try
        {
            _session.Run(_runOptions, _inputNames, [inputValue], _outputNames, [outputValue]);
        }
        finally
        {
            _runs.Release();
        }
    }

    /// <summary>Scores <paramref name="count"/> images in batches of <paramref name="batchSize"/>, <see cref="Parallelism"/> batches at a time.</summary>
    public void ScoreAll(Memory<float> input, int count, Memory<float> output, int batchSize)
    {
        int batches = (count + batchSize - 1) / batchSize;
        Parallel.For(0, batches, new ParallelOptions { MaxDegreeOfParallelism = Parallelism }, b =>
        {
            int start = b * batchSize, n = Math.Min(batchSize, count - start);
            Score(input[(start * InputLength)..], n, output[(start * OutputWidth)..]);
        });
    }

    /// <summary>
    /// Session options for the requested device. CUDA failures (no CUDA 13 runtime, no GPU, CPU-only ONNX Runtime) are
    /// caught here, where the cause is known, rather than surfacing later as an opaque error.
    /// </summary>
    public static SessionOptions CreateOptions(int? gpuDeviceId, bool fallbackToCpu, ILogger? logger, out string provider)
    {
        var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        provider = "CPU";
        if (gpuDeviceId is not { } device) return options;
        try
        {
            options.AppendExecutionProvider_CUDA(device);
            provider = $"CUDA:{device}";
        }
        catch (Exception e) when (e is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException)
        {
            string reason = $"{e.Message.Trim()}{CudaProviderLoadError()}";
            if (!fallbackToCpu)
            {
                options.Dispose();
                throw new InvalidOperationException(
                    $"GPU {device} was requested but ONNX Runtime's CUDA provider could not be used: {reason}. " +
                    "Reference Microsoft.ML.OnnxRuntime.Gpu with a matching CUDA and cuDNN installed, or set FallbackToCpu = true to score on the CPU.", e);
            }
            logger?.LogWarning("GPU {Device} was requested but ONNX Runtime's CUDA provider could not be used ({Reason}); scoring on the CPU.", device, reason);
            options.Dispose();
            options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        }
        return options;
    }

    /// <summary>
    /// ONNX Runtime reports only "Failed to load shared library"; loading its CUDA provider ourselves gives the loader's
    /// reason (for example "libcublasLt.so.13: cannot open shared object file": no CUDA 13 runtime).
    /// </summary>
    private static string CudaProviderLoadError()
    {
        string name = OperatingSystem.IsWindows() ? "onnxruntime_providers_cuda.dll" : "libonnxruntime_providers_cuda.so";
        string local = Path.Combine(AppContext.BaseDirectory, name);
        if (!File.Exists(local)) return $" ({name} is not beside the app: the CPU-only ONNX Runtime package is referenced)";
        try
        {
            System.Runtime.InteropServices.NativeLibrary.Free(System.Runtime.InteropServices.NativeLibrary.Load(local));
            return "";
        }
        catch (DllNotFoundException e)
        {
            return $" ({e.Message.Trim()})";
        }
    }

    public void Dispose()
    {
        _session.Dispose();
        _runs.Dispose();
        _runOptions.Dispose();
    }
}
