using SkiaSharp;

namespace Microsoft.ML.EfficientNet.Data;

/// <summary>A decoded image: interleaved 8-bit RGB, row-major, no padding.</summary>
/// <param name="Width">Columns.</param>
/// <param name="Height">Rows.</param>
/// <param name="Pixels">Width × Height × 3 bytes.</param>
public sealed record RgbImage(int Width, int Height, byte[] Pixels)
{
    /// <summary>Decodes an image file (JPEG, PNG, BMP, GIF, WebP) with SkiaSharp, the decoder ML.NET uses.</summary>
    /// <param name="path">The file.</param>
    /// <exception cref="InvalidDataException">The file is empty, not an image or damaged; the message names it.</exception>
    public static RgbImage Decode(string path)
    {
        using var bitmap = SKBitmap.Decode(path)
            ?? throw new InvalidDataException($"'{path}' could not be decoded as an image (empty, damaged or not an image file).");
        return FromBitmap(bitmap);
    }

    /// <summary>Expands 8-bit grayscale to RGB.</summary>
    /// <param name="gray">Width × Height bytes.</param>
    /// <param name="width">Columns.</param>
    /// <param name="height">Rows.</param>
    public static RgbImage FromGray(ReadOnlySpan<byte> gray, int width, int height)
    {
        var pixels = new byte[width * height * 3];
        for (int i = 0; i < width * height; i++) pixels[3 * i] = pixels[3 * i + 1] = pixels[3 * i + 2] = gray[i];
        return new RgbImage(width, height, pixels);
    }

    private static RgbImage FromBitmap(SKBitmap bitmap)
    {
        using var rgba = bitmap.ColorType == SKColorType.Rgba8888 ? null : bitmap.Copy(SKColorType.Rgba8888);
        var source = rgba ?? bitmap;
        var bytes = source.GetPixelSpan();
        int w = source.Width, h = source.Height, stride = source.RowBytes;
        var pixels = new byte[w * h * 3];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int s = y * stride + 4 * x, d = 3 * (y * w + x);
                pixels[d] = bytes[s];
                pixels[d + 1] = bytes[s + 1];
                pixels[d + 2] = bytes[s + 2];
            }
        return new RgbImage(w, h, pixels);
    }
}
