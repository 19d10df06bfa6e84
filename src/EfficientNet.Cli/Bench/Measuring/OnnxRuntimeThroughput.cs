using System.Diagnostics;
using Microsoft.ML.EfficientNet.Scoring;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.EfficientNet.Runtime;

namespace EfficientNet.Cli.Bench.Measuring;

/// <summary>Raw ONNX Runtime on prepared pixels, through <see cref="EfficientNetOnnxSession"/>.</summary>
internal static class OnnxRuntimeThroughput
{
    /// <summary>Best images per second of <paramref name="setting"/> over <paramref name="count"/> prepared images.</summary>
    /// <param name="model">The ONNX model ([N, 3, S, S] in, [N, width] out).</param>
    /// <param name="outputName">The output to compute.</param>
    /// <param name="pixels">count × 3 × S × S floats, as the model's input expects.</param>
    /// <param name="count">Images in <paramref name="pixels"/>.</param>
    /// <param name="setting">Threads, runs at once and batch size.</param>
    /// <param name="runs">Timed passes.</param>
    public static double Measure(byte[] model, string outputName, float[] pixels, int count, OnnxRuntimeSetting setting, int runs)
    {
        var (session, pass, warmUp) = Open(model, outputName, pixels, count, setting);
        using (session) return Throughput.BestImagesPerSecond(pass, count, runs, warmUp);
    }

    /// <summary>
    /// Opens a session for <paramref name="setting"/> and returns it with a pass over <paramref name="count"/> prepared
    /// images and a shorter warm-up, for <see cref="Throughput.BestImagesPerSecond(IReadOnlyList{ValueTuple{Action, Action}}, int, int)"/>.
    /// Dispose the session afterwards.
    /// </summary>
    public static (EfficientNetOnnxSession Session, Action Pass, Action WarmUp) Open(byte[] model, string outputName, float[] pixels, int count, OnnxRuntimeSetting setting)
    {
        var session = new EfficientNetOnnxSession(model, outputName, intraOpThreads: setting.IntraOpThreads, parallelism: setting.Parallelism);
        var output = new float[count * session.OutputWidth];
        int warm = Math.Min(count, setting.BatchSize * setting.Parallelism);
        return (session, () => session.ScoreAll(pixels, count, output, setting.BatchSize), () => session.ScoreAll(pixels, warm, output, setting.BatchSize));
    }

    /// <summary>Batch-1 latencies in milliseconds, one image at a time, with ONNX Runtime's default threading.</summary>
    /// <param name="model">As for <see cref="Measure"/>.</param>
    /// <param name="outputName">As for <see cref="Measure"/>.</param>
    /// <param name="pixels">At least one image.</param>
    /// <param name="samples">Timed single-image runs (after two untimed ones).</param>
    public static double[] Latencies(byte[] model, string outputName, float[] pixels, int samples)
    {
        using var session = new EfficientNetOnnxSession(model, outputName, parallelism: 1);
        var output = new float[session.OutputWidth];
        int images = pixels.Length / session.InputLength;
        var latencies = new double[samples];
        for (int i = -2; i < samples; i++)
        {
            var input = new Memory<float>(pixels, (Math.Max(i, 0) % images) * session.InputLength, session.InputLength);
            long start = Stopwatch.GetTimestamp();
            session.Score(input, 1, output);
            if (i >= 0) latencies[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        return latencies;
    }

    /// <summary>
    /// Kernel time per operator type in milliseconds per batch, from ONNX Runtime's own profiler (one intra-op thread,
    /// <paramref name="passes"/> runs of <paramref name="count"/> images after one untimed): where the time of a model goes
    /// after ONNX Runtime's fusions, for example fp32 <c>Conv</c> against int8 <c>QLinearConv</c>. The first run (first
    /// touch of every buffer, weight prepacking) is left out.
    /// </summary>
    public static IReadOnlyList<(string Operator, double MillisecondsPerBatch)> KernelTimes(byte[] model, string outputName, float[] pixels, int count, int passes = 4)
    {
        string prefix = Path.Combine(Path.GetTempPath(), $"efficientnet-profile-{Guid.NewGuid():N}");
        string? file = null;
        try
        {
            using (var session = new EfficientNetOnnxSession(model, outputName, intraOpThreads: 1, parallelism: 1, profilePrefix: prefix))
            {
                var output = new float[count * session.OutputWidth];
                for (int i = 0; i <= passes; i++) session.Score(pixels, count, output);
                file = session.EndProfiling();
            }
            var totals = new Dictionary<string, double>(StringComparer.Ordinal);
            using var trace = System.Text.Json.JsonDocument.Parse(File.ReadAllText(file));
            var events = trace.RootElement.EnumerateArray().ToList();
            // The end of the first run: its "model_run" event, which the profiler writes for every Run.
            long firstRunEnd = events.Where(e => e.GetProperty("name").GetString() == "model_run")
                .Select(e => e.GetProperty("ts").GetInt64() + e.GetProperty("dur").GetInt64()).DefaultIfEmpty(0).Min();
            foreach (var e in events)
            {
                if (e.GetProperty("cat").GetString() != "Node" || !e.GetProperty("name").GetString()!.EndsWith("_kernel_time", StringComparison.Ordinal)) continue;
                if (e.GetProperty("ts").GetInt64() < firstRunEnd) continue;
                string op = e.GetProperty("args").GetProperty("op_name").GetString()!;
                totals[op] = totals.GetValueOrDefault(op) + e.GetProperty("dur").GetInt64() / 1000.0;
            }
            return totals.OrderByDescending(t => t.Value).Select(t => (t.Key, t.Value / passes)).ToList();
        }
        finally
        {
            if (file is not null) File.Delete(file);
        }
    }

    /// <summary>The ONNX Runtime native library's version, e.g. <c>1.31.1</c>.</summary>
    public static string Version() => OrtEnv.Instance().GetVersionString();
}
