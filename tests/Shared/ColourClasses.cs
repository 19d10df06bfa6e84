namespace EfficientNetML.Testing;

/// <summary>
/// An image folder whose classes are known to be separable: in each image one colour channel (the class) is high and the
/// other two lower, each image with its own shades, a gentle gradient, faint noise and size, so no two are alike. Any
/// network whose features depend on the image tells the classes apart; one whose features do not, cannot. The noise is
/// faint because random-weight networks amplify pixel noise far more than colour (strong noise drowns the class).
/// </summary>
public static class ColourClasses
{
    /// <summary>The class folders, in the order an image folder sorts them: blue (channel 2), green (1), red (0).</summary>
    public static IReadOnlyList<string> Names { get; } = ["blue", "green", "red"];

    /// <summary>Writes <paramref name="perClass"/> PNGs into each class folder under <paramref name="root"/>, from a fixed seed.</summary>
    public static void Write(string root, int perClass)
    {
        var random = new Random(17);
        for (int c = 0; c < Names.Count; c++)
        {
            string folder = Path.Combine(root, Names[c]);
            Directory.CreateDirectory(folder);
            int channel = 2 - c;
            for (int i = 0; i < perClass; i++)
            {
                int width = random.Next(48, 80), height = random.Next(48, 80);
                var shade = new double[3];
                var slope = new (double X, double Y)[3];
                for (int k = 0; k < 3; k++)
                {
                    shade[k] = k == channel ? 170 + 70 * random.NextDouble() : 20 + 70 * random.NextDouble();
                    double amplitude = 60 * random.NextDouble() - 30;
                    slope[k] = (amplitude * (2 * random.NextDouble() - 1), amplitude * (2 * random.NextDouble() - 1));
                }
                var rows = new byte[height * (1 + 3 * width)];
                for (int y = 0, at = 0; y < height; y++)
                {
                    rows[at++] = 0; // filter: none
                    for (int x = 0; x < width; x++, at += 3)
                        for (int k = 0; k < 3; k++)
                        {
                            double v = shade[k] + (slope[k].X * x + slope[k].Y * y) / Math.Max(width, height) + random.Next(-7, 8);
                            rows[at + k] = (byte)Math.Clamp(Math.Round(v), 0, 255);
                        }
                }
                File.WriteAllBytes(Path.Combine(folder, $"{Names[c]}_{i:D2}.png"), HandPng.Write(width, height, colourType: 2, bitDepth: 8, rows: rows));
            }
        }
    }
}
