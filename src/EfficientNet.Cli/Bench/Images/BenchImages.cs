using SkiaSharp;

namespace EfficientNet.Cli.Bench.Images;

/// <summary>
/// The JPEGs <c>efficientnet bench</c> times: the first ones of a folder, or photo-sized ones generated once with
/// SkiaSharp (seeded, so every run and every host scores the same bytes), with a marker file that says they were generated.
/// </summary>
internal static class BenchImages
{
    private const string GeneratedMarker = ".generated";

    /// <summary>The first <paramref name="count"/> JPEGs of <paramref name="folder"/>, or generated ones.</summary>
    public static string[] Files(string? folder, string generatedFolder, int count)
    {
        if (folder is not null)
        {
            if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"Image folder '{folder}' does not exist.");
            var found = Directory.GetFiles(Path.GetFullPath(folder), "*.jp*g").Order(StringComparer.Ordinal).Take(count).ToArray();
            if (found.Length < count) throw new ArgumentException($"'{folder}' has {found.Length} JPEGs; --count {count} needs {count}.");
            return found;
        }
        string generated = Path.GetFullPath(generatedFolder);
        Directory.CreateDirectory(generated);
        var files = Enumerable.Range(0, count).Select(i => Path.Combine(generated, $"image_{i:D4}.jpg")).ToArray();
        for (int i = 0; i < count; i++)
            if (!File.Exists(files[i])) WriteJpeg(files[i], seed: i);
        File.WriteAllText(Path.Combine(generated, GeneratedMarker), "500x375 JPEGs from efficientnet bench: seeded gradients + noise, quality 90\n");
        return files;
    }

    /// <summary>A 500×375 JPEG at quality 90: a few seeded smooth colour waves plus pixel noise (photo-like entropy).</summary>
    public static void WriteJpeg(string path, int seed)
    {
        const int width = 500, height = 375;
        var random = new Random(seed);
        var waves = Enumerable.Range(0, 3 * 3).Select(_ => (Fx: random.NextDouble() * 0.04, Fy: random.NextDouble() * 0.04, Phase: random.NextDouble() * 6.283, Amp: 30 + random.NextDouble() * 50)).ToArray();
        var baseColour = new[] { random.Next(60, 200), random.Next(60, 200), random.Next(60, 200) };
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var pixels = new byte[width * height * 4];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int o = (y * width + x) * 4;
                for (int c = 0; c < 3; c++)
                {
                    double v = baseColour[c];
                    for (int w = 0; w < 3; w++)
                    {
                        var (fx, fy, phase, amp) = waves[c * 3 + w];
                        v += amp * Math.Sin(fx * x + fy * y + phase);
                    }
                    v += (random.NextDouble() - 0.5) * 40;
                    pixels[o + c] = (byte)Math.Clamp(v, 0, 255);
                }
                pixels[o + 3] = 255;
            }
        System.Runtime.InteropServices.Marshal.Copy(pixels, 0, bitmap.GetPixels(), pixels.Length);
        using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 90);
        using var stream = File.Create(path);
        data.SaveTo(stream);
    }

    /// <summary>What the report says of the images: how they were generated, or their folder.</summary>
    public static string Describe(string[] files) =>
        files.Length > 0 && Path.GetDirectoryName(files[0]) is { } dir && File.Exists(Path.Combine(dir, GeneratedMarker))
            ? "generated: 500×375 JPEGs, seeded smooth gradients + noise, quality 90 (SkiaSharp)" : $"{Path.GetDirectoryName(files[0])}";
}
