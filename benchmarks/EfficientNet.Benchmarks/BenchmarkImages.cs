namespace EfficientNet.Benchmarks;

/// <summary>
/// The JPEGs the benchmarks read: scripts/benchmark.sh makes them with ImageMagick (plasma fractals, 500×375,
/// quality 90: real JPEG files with photo-like entropy) into the folder named by EFFICIENTNETML_BENCH_IMAGES.
/// </summary>
internal static class BenchmarkImages
{
    public static string Folder => Environment.GetEnvironmentVariable("EFFICIENTNETML_BENCH_IMAGES") is { Length: > 0 } folder
        ? folder
        : throw new InvalidOperationException("Set EFFICIENTNETML_BENCH_IMAGES to a folder of JPEGs (scripts/benchmark.sh does).");

    public static string[] Files(int count)
    {
        var files = Directory.GetFiles(Folder, "*.jpg").Order(StringComparer.Ordinal).Take(count).ToArray();
        if (files.Length < count) throw new InvalidOperationException($"{Folder} has {files.Length} JPEGs; {count} are needed.");
        return files;
    }
}
