using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;

namespace Microsoft.ML.EfficientNet.Runtime;

/// <summary>
/// The owner of one ONNX Runtime session over an EfficientNet model: image batches [N, 3, S, S] of floats in, one
/// [N, width] output out (the featurizer's features, or <c>logits</c> for <c>efficientnet evaluate</c>). It holds the
/// session, its options, the one <see cref="RunOptions"/> every run reuses, and the settings runs go with: the CUDA
/// provider when asked and available, else the CPU; threads inside a run; how many runs proceed at once. Dispose it to
/// free the session.
/// </summary>
/// <remarks>
/// <para>On the CPU the default is one intra-op thread per run and one run per core: EfficientNet's many small,
/// memory-bound depthwise layers parallelise poorly inside an operator, and whole batches on separate cores were
/// measured 1.4× faster than ONNX Runtime's own threading at batch 32 on 2 cores (docs/BENCHMARKS.md; in
/// <c>efficientnet bench</c>'s grid, which this class opens for each setting, ONNX Runtime's default session at batch 8
/// came within a few percent of it on an AVX-512 host, which is why the grid keeps measuring both). With
/// <c>parallelism: 1</c> and no thread count, a run uses ONNX Runtime's own threading.</para>
/// <para>As ML.NET's <c>OnnxModel</c> does, a constructor that fails releases what it had created (session options,
/// session, run options) before the exception leaves it. <see cref="Score"/> and <see cref="ScoreAll"/> may be called
/// from several threads at once.</para>
/// </remarks>
internal sealed class EfficientNetOnnxSession : IDisposable
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions;
    private readonly SemaphoreSlim _runs;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private readonly string[]? _featureMapOutputNames;
    private bool _disposed;

    /// <summary>Opens a session over <paramref name="model"/>.</summary>
    /// <param name="model">The serialised ONNX model, with one input [N, 3, S, S] (N free, S fixed).</param>
    /// <param name="outputName">The output to compute, [N, width] with a fixed width (for example
    /// <see cref="Onnx.OnnxExportOptions.LogitsOutputName"/>).</param>
    /// <param name="gpuDeviceId">GPU to run on through ONNX Runtime's CUDA provider (the app must reference
    /// <c>Microsoft.ML.OnnxRuntime.Gpu</c>). Default null: CPU.</param>
    /// <param name="fallbackToCpu">When <paramref name="gpuDeviceId"/> is set and CUDA cannot be used: true runs on the
    /// CPU and logs a warning; false (default) throws <see cref="InvalidOperationException"/> naming the cause.</param>
    /// <param name="intraOpThreads">Threads ONNX Runtime uses inside one operator. Default null: 1 when several runs
    /// proceed at once, else ONNX Runtime's own choice.</param>
    /// <param name="parallelism">Runs that may proceed at once. Default null: one per logical processor on the CPU, one
    /// on a GPU.</param>
    /// <param name="logger">Receives the GPU fallback warning. Default null.</param>
    /// <param name="profilePrefix">Runs ONNX Runtime's profiler on every run, its trace file named from this prefix and
    /// written by <see cref="EndProfiling"/>. Default null: no profiling.</param>
    /// <exception cref="ArgumentException">The model has not one [N, 3, S, S] input, or no [N, width] output named
    /// <paramref name="outputName"/>.</exception>
    /// <exception cref="OnnxRuntimeException">ONNX Runtime cannot load the model.</exception>
    /// <remarks>
    /// <paramref name="profilePrefix"/> is public for <c>efficientnet bench</c>'s kernel times, measured outside this
    /// assembly; whether it stays in the public surface is for the review of that surface to decide.
    /// </remarks>
    public EfficientNetOnnxSession(byte[] model, string outputName, int? gpuDeviceId = null, bool fallbackToCpu = false,
        int? intraOpThreads = null, int? parallelism = null, ILogger? logger = null, string? profilePrefix = null)
        : this(model, outputName, featureMapOutputName: null, gpuDeviceId, fallbackToCpu, intraOpThreads, parallelism, logger, profilePrefix)
    {
    }

    /// <summary>
    /// As the public constructor, and also <paramref name="featureMapOutputName"/>, a [N, C, h, w] output that
    /// <see cref="ScoreWithFeatureMap"/> returns beside the main one (the class activation maps of
    /// <c>EfficientNetPredictor</c>), and, with <paramref name="profilePrefix"/>, ONNX Runtime's profiler on every
    /// run (its trace file is written by <see cref="EndProfiling"/>).
    /// </summary>
    internal EfficientNetOnnxSession(byte[] model, string outputName, string? featureMapOutputName, int? gpuDeviceId = null, bool fallbackToCpu = false,
        int? intraOpThreads = null, int? parallelism = null, ILogger? logger = null, string? profilePrefix = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(outputName);
        if (parallelism < 1) throw new ArgumentOutOfRangeException(nameof(parallelism), parallelism, "At least one concurrent run is needed.");
        SessionOptions? options = null;
        InferenceSession? session = null;
        RunOptions? runOptions = null;
        try
        {
            options = CreateOptions(gpuDeviceId, fallbackToCpu, logger, out string provider);
            bool onCpu = provider == "CPU";
            int runs = parallelism ?? (onCpu ? Environment.ProcessorCount : 1);
            if ((intraOpThreads ?? (onCpu && runs > 1 ? 1 : null)) is { } threads) options.IntraOpNumThreads = threads;
            if (profilePrefix is not null)
            {
                options.EnableProfiling = true;
                options.ProfileOutputPathPrefix = profilePrefix;
            }
            session = new InferenceSession(model, options);
            (string input, InputSize) = ImageInput(session);
            OutputWidth = OutputOf(session, outputName);
            if (featureMapOutputName is not null)
            {
                if (!session.OutputMetadata.TryGetValue(featureMapOutputName, out var map) || map.Dimensions.Length != 4)
                    throw new ArgumentException($"The model has no [N, C, h, w] output '{featureMapOutputName}'; its outputs are [{string.Join(", ", session.OutputMetadata.Keys)}].", nameof(featureMapOutputName));
                _featureMapOutputNames = [outputName, featureMapOutputName];
            }
            runOptions = new RunOptions();
            ExecutionProvider = provider;
            Parallelism = runs;
            _inputNames = [input];
            _outputNames = [outputName];
            _session = session;
            _runOptions = runOptions;
            _runs = new SemaphoreSlim(runs, runs);
        }
        catch
        {
            runOptions?.Dispose();
            session?.Dispose();
            throw;
        }
        finally
        {
            // The session keeps what it needs of its options.
            options?.Dispose();
        }
    }

    /// <summary>How many runs may proceed at once.</summary>
    public int Parallelism { get; }

    /// <summary><c>CPU</c> or <c>CUDA:{id}</c>: where runs actually go (after any fallback).</summary>
    public string ExecutionProvider { get; }

    /// <summary>The model's input name.</summary>
    public string InputName => _inputNames[0];

    /// <summary>The output computed.</summary>
    public string OutputName => _outputNames[0];

    /// <summary>Side of the square input, in pixels.</summary>
    public int InputSize { get; }

    /// <summary>Floats in one input image: 3 × <see cref="InputSize"/>².</summary>
    public int InputLength => 3 * InputSize * InputSize;

    /// <summary>Floats in one output row.</summary>
    public int OutputWidth { get; }

    /// <summary>
    /// Scores <paramref name="count"/> images from the start of <paramref name="input"/> (CHW, <see cref="InputLength"/>
    /// floats each) into the start of <paramref name="output"/> (<see cref="OutputWidth"/> floats each), in one run.
    /// </summary>
    /// <param name="input">At least <paramref name="count"/> × <see cref="InputLength"/> floats.</param>
    /// <param name="count">Images in the batch; 0 does nothing.</param>
    /// <param name="output">At least <paramref name="count"/> × <see cref="OutputWidth"/> floats.</param>
    public void Score(Memory<float> input, int count, Memory<float> output) => Run(input, count, output, _outputNames, read: null);

    /// <summary>
    /// As <see cref="Score"/>, and also computes the feature-map output named at construction, which ONNX Runtime
    /// allocates (its side depends on the network's strides): returned as [count, C, h, w] floats with its dimensions.
    /// </summary>
    /// <exception cref="InvalidOperationException">The session was opened without a feature-map output.</exception>
    internal (float[] Values, int Channels, int Height, int Width) ScoreWithFeatureMap(Memory<float> input, int count, Memory<float> output)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_featureMapOutputNames is null) throw new InvalidOperationException("This session was opened without a feature-map output.");
        (float[], int, int, int) map = default;
        Run(input, count, output, _featureMapOutputNames, results =>
        {
            results[0].GetTensorDataAsSpan<float>().CopyTo(output.Span);
            long[] shape = results[1].GetTensorTypeAndShape().Shape;
            map = (results[1].GetTensorDataAsSpan<float>().ToArray(), (int)shape[1], (int)shape[2], (int)shape[3]);
        });
        return map;
    }

    /// <summary>
    /// Runs one batch for <paramref name="outputs"/> (any of the model's outputs, which ONNX Runtime allocates) and hands
    /// each to <paramref name="observe"/> with its name, values and dimensions, before they are freed: how the int8
    /// calibrator reads activations it has made outputs of a copy of the model.
    /// </summary>
    /// <param name="input">As for <see cref="Score"/>.</param>
    /// <param name="count">Images in the batch, at least 1.</param>
    /// <param name="outputs">Output names to compute.</param>
    /// <param name="observe">Receives each output; the span is valid only during the call.</param>
    internal void Observe(Memory<float> input, int count, IReadOnlyList<string> outputs, ObserveOutput observe) =>
        Run(input, count, output: null, outputs.ToArray(), results =>
        {
            for (int i = 0; i < outputs.Count; i++)
                observe(outputs[i], results[i].GetTensorDataAsSpan<float>(), results[i].GetTensorTypeAndShape().Shape);
        });

    /// <summary>Receives one output of <see cref="Observe"/>.</summary>
    internal delegate void ObserveOutput(string name, ReadOnlySpan<float> values, long[] dimensions);

    /// <summary>
    /// The one run of the session, behind <see cref="Score"/>, <see cref="ScoreWithFeatureMap"/> and <see cref="Observe"/>:
    /// checks the batch against the buffers, wraps the input without copying, waits for one of the
    /// <see cref="Parallelism"/> run slots, and runs with the shared <see cref="RunOptions"/>. Without
    /// <paramref name="read"/>, <paramref name="output"/> is bound as the run's one output, so ONNX Runtime writes the
    /// rows in place and 0 images do nothing; with it, ONNX Runtime allocates <paramref name="outputNames"/>, which
    /// <paramref name="read"/> sees before they are freed, and at least one image is needed.
    /// </summary>
    /// <param name="input">At least <paramref name="count"/> × <see cref="InputLength"/> floats.</param>
    /// <param name="count">Images in the batch.</param>
    /// <param name="output">When given, at least <paramref name="count"/> × <see cref="OutputWidth"/> floats.</param>
    /// <param name="outputNames">The outputs to compute.</param>
    /// <param name="read">Reads the allocated outputs, in the order of <paramref name="outputNames"/>; null: bind <paramref name="output"/>.</param>
    private void Run(Memory<float> input, int count, Memory<float>? output, string[] outputNames, Action<IReadOnlyList<OrtValue>>? read)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (read is null) ArgumentOutOfRangeException.ThrowIfNegative(count);
        else ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        if (input.Length < count * InputLength)
            throw new ArgumentException($"{count} images need {count * InputLength} input floats; {input.Length} were given.", nameof(input));
        if (output is { } rows && rows.Length < count * OutputWidth)
            throw new ArgumentException($"{count} images need {count * OutputWidth} output floats; {rows.Length} were given.", nameof(output));
        if (count == 0) return;
        using var inputValue = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, input[..(count * InputLength)], [count, 3, InputSize, InputSize]);
        using var outputValue = read is null && output is { } bound
            ? OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, bound[..(count * OutputWidth)], [count, OutputWidth])
            : null;
        _runs.Wait();
        try
        {
            if (outputValue is not null)
            {
                _session.Run(_runOptions, _inputNames, [inputValue], outputNames, [outputValue]);
                return;
            }
            using var results = _session.Run(_runOptions, _inputNames, [inputValue], outputNames);
            read!(results);
        }
        finally
        {
            _runs.Release();
        }
    }

    /// <summary>Ends ONNX Runtime's profiling of a session opened with a profile prefix; the trace file's path.</summary>
    /// <remarks>Public with the constructor's <c>profilePrefix</c>, for <c>efficientnet bench</c>'s kernel times.</remarks>
    public string EndProfiling()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _session.EndProfiling();
    }

    /// <summary>Scores <paramref name="count"/> images in batches of <paramref name="batchSize"/>, <see cref="Parallelism"/> batches at a time.</summary>
    /// <param name="input">As for <see cref="Score"/>.</param>
    /// <param name="count">Images to score.</param>
    /// <param name="output">As for <see cref="Score"/>.</param>
    /// <param name="batchSize">Images per run, at least 1.</param>
    public void ScoreAll(Memory<float> input, int count, Memory<float> output, int batchSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        int batches = (count + batchSize - 1) / batchSize;
        Parallel.For(0, batches, new ParallelOptions { MaxDegreeOfParallelism = Parallelism }, b =>
        {
            int start = b * batchSize, n = Math.Min(batchSize, count - start);
            Score(input[(start * InputLength)..], n, output[(start * OutputWidth)..]);
        });
    }

    /// <summary>The one input and its side; the batch dimension may be free, the others must be fixed.</summary>
    private static (string Name, int Size) ImageInput(InferenceSession session)
    {
        if (session.InputMetadata.Count != 1)
            throw new ArgumentException($"The model has {session.InputMetadata.Count} inputs [{string.Join(", ", session.InputMetadata.Keys)}]; one image input [N, 3, S, S] is needed.", "model");
        var (name, input) = session.InputMetadata.Single();
        int[] dims = input.Dimensions;
        if (dims.Length != 4 || dims[1] != 3 || dims[2] <= 0 || dims[2] != dims[3])
            throw new ArgumentException($"The model's input '{name}' is [{string.Join(", ", dims)}]; [N, 3, S, S] is needed.", "model");
        return (name, dims[2]);
    }

    /// <summary>The width of output <paramref name="name"/>, [N, width].</summary>
    private static int OutputOf(InferenceSession session, string name)
    {
        if (!session.OutputMetadata.TryGetValue(name, out var output))
            throw new ArgumentException($"The model has no output '{name}'; its outputs are [{string.Join(", ", session.OutputMetadata.Keys)}].", "outputName");
        int[] dims = output.Dimensions;
        if (dims.Length != 2 || dims[1] <= 0)
            throw new ArgumentException($"The model's output '{name}' is [{string.Join(", ", dims)}]; [N, width] is needed.", "outputName");
        return dims[1];
    }

    /// <summary>
    /// Session options for the requested device. CUDA failures (no CUDA 13 runtime, no GPU, CPU-only ONNX Runtime) are
    /// caught here, where the cause is known, rather than surfacing later as an opaque error.
    /// </summary>
    private static SessionOptions CreateOptions(int? gpuDeviceId, bool fallbackToCpu, ILogger? logger, out string provider)
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

    /// <summary>Frees the session and its run options; later calls to <see cref="Score"/> throw <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _session.Dispose();
        _runs.Dispose();
        _runOptions.Dispose();
    }
}
