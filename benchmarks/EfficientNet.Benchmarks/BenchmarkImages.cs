namespace EfficientNet.Benchmarks;

/// <summary>
/// The JPEGs the benchmarks read: scripts/benchmark.sh makes them with ImageMagick (plasma fractals at quality 90: real
/// JPEG files with photo-like entropy), 500×375 (the size the baselines used) into the folder named by
/// EFFICIENTNETML_BENCH_IMAGES, and 4032×3024 (a phone camera's) into the one named by EFFICIENTNETML_BENCH_PHOTOS.
/// </summary>
internal static class BenchmarkImages
{
    public const string ImagesVariable = "EFFICIENTNETML_BENCH_IMAGES";

    public const string LargePhotosVariable = "EFFICIENTNETML_BENCH_PHOTOS";

    public static string Folder(string variable = ImagesVariable) => Environment.GetEnvironmentVariable(variable) is { Length: > 0 } folder
        ? folder
        : throw new InvalidOperationException($"Set {variable} to a folder of JPEGs (scripts/benchmark.sh does).");

    public static string[] Files(int count, string variable = ImagesVariable)
    {
        string folder = Folder(variable);
        var files = Directory.GetFiles(folder, "*.jpg").Order(StringComparer.Ordinal).Take(count).ToArray();
        if (files.Length < count) throw new InvalidOperationException($"{folder} has {files.Length} JPEGs; {count} are needed.");
        return files;
    }
}
