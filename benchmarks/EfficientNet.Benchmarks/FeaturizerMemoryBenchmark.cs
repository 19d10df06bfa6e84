using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.EfficientNet.Scoring;
using SkiaSharp;

namespace EfficientNet.Benchmarks;

/// <summary>
/// Resident memory of the featurizer over a long stream: 10,000 rows of a path column (100 small generated JPEGs, each
/// used 100 times), B0 with seeded random weights at 32 px, read through one Transform cursor. Resident memory (VmRSS) is
/// recorded after fitting and after every 1,000 rows; the growth per 1,000 rows is the slope from row 1,000 (ONNX
/// Runtime's arenas and the thread pool are warm by then) to the last row. Not a timed test: run it by hand and record
/// the figures in docs/RELIABILITY.md.
/// </summary>
internal static class FeaturizerMemoryBenchmark
{
    public const string Command = "featurizer-memory";

    private sealed class PathRow
    {
        public string Path { get; set; } = "";
    }

    public static int Run(string[] args)
    {
        int rows = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 10_000;
        string folder = Path.Combine(Path.GetTempPath(), "efficientnetml-memory-" + Environment.ProcessId);
        Directory.CreateDirectory(folder);
        try
        {
            var files = Enumerable.Range(0, 100).Select(i => WriteJpeg(folder, i)).ToArray();
            var ml = new MLContext(seed: 1);
            var data = ml.Data.LoadFromEnumerable(Enumerable.Range(0, rows).Select(i => new PathRow { Path = files[i % files.Length] }));
            var options = new EfficientNetFeaturizerOptions { UseRandomWeights = true, Resolution = 32 };
            long beforeFit = Rss();
            using var featurizer = ml.Transforms.EfficientNetFeaturizer("b0", inputColumnName: "Path", options: options).Fit(data);
            var output = featurizer.Transform(data);
            var samples = new List<(int Rows, long Rss, long Managed)> { (0, Rss(), GC.GetTotalMemory(false)) };
            var clock = Stopwatch.StartNew();
            using (var cursor = output.GetRowCursor([output.Schema["Features"]]))
            {
                var getter = cursor.GetGetter<VBuffer<float>>(output.Schema["Features"]);
                VBuffer<float> features = default;
                int n = 0;
                double sum = 0;
                while (cursor.MoveNext())
                {
                    getter(ref features);
                    sum += features.GetValues()[0];
                    if (++n % 1000 == 0) samples.Add((n, Rss(), GC.GetTotalMemory(false)));
                }
                if (double.IsNaN(sum)) throw new InvalidOperationException("a row was not featurized");
            }
            double seconds = clock.Elapsed.TotalSeconds;

            Console.WriteLine($"featurizer memory: {rows:N0} rows, B0 random weights at 32 px, path column of 100 JPEGs 64×48, {Environment.ProcessorCount} cores, {seconds:F1} s ({rows / seconds:F0} rows/s)");
            Console.WriteLine($"RSS before fit {Mb(beforeFit)} MB, after fit {Mb(samples[0].Rss)} MB");
            Console.WriteLine("| rows | RSS (MB) | managed heap (MB) |");
            Console.WriteLine("|---:|---:|---:|");
            foreach (var (n, rss, managed) in samples) Console.WriteLine($"| {n:N0} | {Mb(rss)} | {Mb(managed)} |");
            var warm = samples.First(s => s.Rows == Math.Min(1000, samples[^1].Rows));
            var last = samples[^1];
            double perThousand = last.Rows > warm.Rows ? (last.Rss - warm.Rss) / 1048576.0 / ((last.Rows - warm.Rows) / 1000.0) : double.NaN;
            long peak = samples.Max(s => s.Rss);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"growth from row {warm.Rows:N0} to {last.Rows:N0}: {perThousand:F2} MB per 1,000 rows; peak RSS {Mb(peak)} MB ({Mb(peak - samples[0].Rss)} MB above the fitted featurizer)"));
            return 0;
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static string WriteJpeg(string folder, int index)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(64, 48, SKColorType.Bgra8888, SKAlphaType.Opaque));
        for (int y = 0; y < 48; y++)
            for (int x = 0; x < 64; x++) bitmap.SetPixel(x, y, new SKColor((byte)(x * 4 + index), (byte)(y * 5), (byte)(index * 2)));
        using var image = SKImage.FromBitmap(bitmap);
        using var encoded = image.Encode(SKEncodedImageFormat.Jpeg, 90);
        string path = Path.Combine(folder, $"image_{index:D3}.jpg");
        File.WriteAllBytes(path, encoded.ToArray());
        return path;
    }

    /// <summary>Resident set size from /proc/self/status (VmRSS), in bytes; the working set elsewhere.</summary>
    private static long Rss()
    {
        if (File.Exists("/proc/self/status"))
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                    return long.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
            }
        }
        return Environment.WorkingSet;
    }

    private static string Mb(long bytes) => (bytes / 1048576.0).ToString("F1", CultureInfo.InvariantCulture);
}
