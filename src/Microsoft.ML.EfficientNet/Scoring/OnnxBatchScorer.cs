using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;

namespace Microsoft.ML.EfficientNet.Scoring;

/// <summary>
/// One ONNX Runtime session that scores [N, 3, S, S] float batches into [N, width] outputs, on the CUDA provider when
/// asked and available, else on the CPU.
/// </summary>
internal sealed class OnnxBatchScorer : IDisposable
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;

    public OnnxBatchScorer(byte[] model, string inputName, string outputName, int inputSize, int outputWidth,
        int? gpuDeviceId, bool fallbackToCpu, int? intraOpThreads, ILogger? logger)
    {
        InputSize = inputSize;
        OutputWidth = outputWidth;
        _inputNames = [inputName];
        _outputNames = [outputName];
        using var options = CreateOptions(gpuDeviceId, fallbackToCpu, intraOpThreads, logger, out string provider);
        ExecutionProvider = provider;
        _session = new InferenceSession(model, options);
    }

    /// <summary><c>CPU</c> or <c>CUDA:{id}</c>: where batches actually run.</summary>
    public string ExecutionProvider { get; }

    /// <summary>Side of the square input, in pixels.</summary>
    public int InputSize { get; }

    /// <summary>Length of one output row.</summary>
    public int OutputWidth { get; }

    /// <summary>Floats in one input image.</summary>
    public int InputLength => 3 * InputSize * InputSize;

    /// <summary>Scores <paramref name="count"/> images from <paramref name="input"/> into <paramref name="output"/>.</summary>
    public void Score(float[] input, int count, float[] output)
    {
        if (count == 0) return;
        using var inputValue = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, new Memory<float>(input, 0, count * InputLength), [count, 3, InputSize, InputSize]);
        using var outputValue = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, new Memory<float>(output, 0, count * OutputWidth), [count, OutputWidth]);
        _session.Run(_runOptions, _inputNames, [inputValue], _outputNames, [outputValue]);
    }

    /// <summary>
    /// Session options for the requested device. CUDA failures (no CUDA 13 runtime, no GPU, CPU-only ONNX Runtime) are
    /// caught here, where the cause is known, rather than surfacing later as an opaque error.
    /// </summary>
    public static SessionOptions CreateOptions(int? gpuDeviceId, bool fallbackToCpu, int? intraOpThreads, ILogger? logger, out string provider)
    {
        var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        if (intraOpThreads is { } threads) options.IntraOpNumThreads = threads;
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
            if (intraOpThreads is { } t) options.IntraOpNumThreads = t;
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
        _runOptions.Dispose();
    }
}
