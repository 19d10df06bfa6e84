using Microsoft.ML.EfficientNet.Scoring;
using Microsoft.ML.EfficientNet.Runtime;

namespace EfficientNet.Cli.Bench.Measuring;

/// <summary>
/// One ONNX Runtime setting for scoring prepared pixels: threads inside a run, runs at once, images per run. Opened
/// through <see cref="EfficientNetOnnxSession"/>, the one session owner, so a setting measured here is one the featurizer
/// can use.
/// </summary>
/// <param name="IntraOpThreads">Threads inside one run; null: ONNX Runtime's own choice (with one run at a time).</param>
/// <param name="Parallelism">Runs that proceed at once (each batch on its own core when &gt; 1).</param>
/// <param name="BatchSize">Images per run.</param>
internal sealed record OnnxRuntimeSetting(int? IntraOpThreads, int Parallelism, int BatchSize)
{
    /// <summary>ONNX Runtime's default session (its own intra-op threading), one run at a time, batch 32.</summary>
    public static OnnxRuntimeSetting Default { get; } = new(null, 1, 32);

    /// <summary>
    /// The small grid the benchmark measures to find ONNX Runtime's best on this machine: its default session at batch 8
    /// and 32, intra-op threads = cores with one session, and one intra-op thread per run with one run per core at batch
    /// 4, 8 and 32 (small batches keep activations in cache: the fp32 and int8 models were fastest at batch 4 on one host).
    /// </summary>
    public static IReadOnlyList<OnnxRuntimeSetting> Grid(int cores) =>
    [
        Default,
        new(null, 1, 8),
        new(cores, 1, 32),
        new(1, cores, 4),
        new(1, cores, 8),
        new(1, cores, 32),
    ];

    /// <summary>A short description, e.g. <c>intra-op 1 × 2 runs, batch 8</c>.</summary>
    public override string ToString() =>
        $"{(IntraOpThreads is { } t ? $"intra-op {t}" : "ORT default threads")} × {Parallelism} run{(Parallelism == 1 ? "" : "s")}, batch {BatchSize}";
}
