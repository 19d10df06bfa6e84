using System.Diagnostics;

namespace EfficientNet.Cli.Bench.Measuring;

/// <summary>Wall-clock measurements of whole passes over a set of images: best of several runs, and latency percentiles.</summary>
internal static class Throughput
{
    /// <summary>
    /// Runs <paramref name="pass"/> once untimed (<paramref name="warmUp"/>, or the pass itself), then
    /// <paramref name="runs"/> times timed; the best run's images per second.
    /// </summary>
    /// <param name="pass">One pass over <paramref name="images"/> images.</param>
    /// <param name="images">Images one pass scores.</param>
    /// <param name="runs">Timed passes, at least 1.</param>
    /// <param name="warmUp">A shorter untimed pass that warms the same path; default null: one full pass.</param>
    public static double BestImagesPerSecond(Action pass, int images, int runs, Action? warmUp = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(runs, 1);
        (warmUp ?? pass)();
        double best = double.MaxValue;
        for (int r = 0; r < runs; r++)
        {
            var watch = Stopwatch.StartNew();
            pass();
            best = Math.Min(best, watch.Elapsed.TotalSeconds);
        }
        return images / best;
    }

    /// <summary>
    /// Measures several passes side by side: each is run once untimed, then <paramref name="runs"/> rounds time every pass
    /// once in turn, so that load from outside the process (a shared machine) falls on all of them alike. The best round's
    /// images per second of each pass.
    /// </summary>
    /// <param name="passes">Each pass over <paramref name="images"/> images, with a shorter untimed warm-up (or null: the pass).</param>
    /// <param name="images">Images one pass scores.</param>
    /// <param name="runs">Rounds, at least 1.</param>
    public static double[] BestImagesPerSecond(IReadOnlyList<(Action Pass, Action? WarmUp)> passes, int images, int runs)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(runs, 1);
        foreach (var (pass, warmUp) in passes) (warmUp ?? pass)();
        var best = Enumerable.Repeat(double.MaxValue, passes.Count).ToArray();
        for (int r = 0; r < runs; r++)
            for (int i = 0; i < passes.Count; i++)
            {
                var watch = Stopwatch.StartNew();
                passes[i].Pass();
                best[i] = Math.Min(best[i], watch.Elapsed.TotalSeconds);
            }
        return best.Select(b => images / b).ToArray();
    }

    /// <summary>The <paramref name="fraction"/> percentile (0–1) of <paramref name="values"/>, by nearest rank.</summary>
    public static double Percentile(IReadOnlyList<double> values, double fraction)
    {
        if (values.Count == 0) throw new ArgumentException("No values.", nameof(values));
        var sorted = values.Order().ToArray();
        int rank = (int)Math.Ceiling(fraction * sorted.Length) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Length - 1)];
    }
}
