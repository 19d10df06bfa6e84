using System.Diagnostics;
using EfficientNet.Training.Weights;
using Microsoft.ML.EfficientNet.Weights;
using static TorchSharp.torch;

namespace EfficientNet.Cli.Bench.Peers;

/// <summary>
/// TorchSharp eager inference for <c>efficientnet bench</c>: this project's own TorchSharp model (the one that trains) in
/// evaluation mode, under <c>no_grad</c>, with libtorch's threads set to the cores, on random input (speed does not depend
/// on pixel values). The peer a .NET team has without ONNX Runtime.
/// </summary>
internal static class TorchSharpEager
{
    /// <summary>TorchSharp eager's rows.</summary>
    public const string Group = "TorchSharp eager, random input";

    /// <summary>Best images per second of three passes over about <paramref name="images"/> images, at batch 8 and 32.</summary>
    public static List<(int BatchSize, int Threads, double ImagesPerSecond)> Measure(EfficientNetCheckpoint checkpoint, int resolution, int images)
    {
        int threads = Environment.ProcessorCount;
        set_num_threads(threads);
        using var model = ModelWeights.CreateModel(checkpoint);
        model.eval();
        var rows = new List<(int, int, double)>();
        using var noGrad = no_grad();
        foreach (int batch in new[] { 8, 32 })
        {
            using var input = randn(batch, 3, resolution, resolution);
            using (NewDisposeScope()) model.forward(input);
            double best = 0;
            for (int pass = 0; pass < 3; pass++)
            {
                long start = Stopwatch.GetTimestamp();
                int done = 0;
                while (done < images)
                {
                    using (NewDisposeScope()) model.forward(input);
                    done += batch;
                }
                best = Math.Max(best, done / Stopwatch.GetElapsedTime(start).TotalSeconds);
            }
            rows.Add((batch, threads, best));
        }
        return rows;
    }
}
