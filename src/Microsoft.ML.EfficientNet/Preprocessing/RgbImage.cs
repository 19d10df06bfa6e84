using Microsoft.ML.EfficientNet.Preprocessing;

namespace Microsoft.ML.EfficientNet.Preprocessing;

/// <summary>A decoded image: interleaved 8-bit RGB, row-major, no padding.</summary>
/// <param name="Width">Columns.</param>
/// <param name="Height">Rows.</param>
/// <param name="Pixels">Width × Height × 3 bytes.</param>
internal sealed record RgbImage(int Width, int Height, byte[] Pixels)
{
    /// <summary>
    /// Decodes an image file (JPEG, PNG, BMP, GIF, WebP) with SkiaSharp, the decoder ML.NET uses, through
    /// <see cref="ImageDecoder.Default"/>: a truncated file or one claiming more than
    /// <see cref="ImageDecoder.DefaultMaxPixels"/> pixels is an error, EXIF orientation is not applied.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <exception cref="InvalidDataException">The file is empty, not an image, truncated, damaged or too large; the message names it.</exception>
    public static RgbImage Decode(string path) => ImageDecoder.Default.DecodeRgb(path);

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
}
