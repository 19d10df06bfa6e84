using Microsoft.ML.Data;
using SkiaSharp;

namespace Microsoft.ML.EfficientNet.Preprocessing;

/// <summary>
/// Decodes an image file into an <see cref="MLImage"/> the way ML.NET's <c>LoadImages</c> does, except that a JPEG much
/// larger than the network needs is decoded at a reduced scale: libjpeg computes 1/8, 1/4 or 1/2 of each dimension
/// straight from the DCT coefficients (SkiaSharp's <see cref="SKCodec.GetScaledDimensions"/>), skipping most of the
/// inverse DCT and colour conversion. The smallest such scale whose shorter side still covers the resize size is used, so
/// the resize that follows only ever shrinks, as it does after a full decode. Other formats, and JPEGs with no such scale,
/// are decoded at full size by <see cref="MLImage.CreateFromStream"/>, exactly as <c>LoadImages</c> does.
/// </summary>
internal static class ReducedScaleJpegDecoder
{
    // libjpeg's DCT scales that save work, smallest image first.
    private static readonly int[] Denominators = [8, 4, 2];

    /// <summary>
    /// Decodes <paramref name="path"/>; when <paramref name="minShorterSide"/> is given and the file is a JPEG, at the
    /// smallest DCT scale whose shorter side is still at least that long.
    /// </summary>
    /// <param name="path">The image file. It is read whole first, as <c>LoadImages</c> does, so it is never locked.</param>
    /// <param name="minShorterSide">The smallest shorter side, in pixels, the decoded image may have (the recipe's resize
    /// size); null decodes at full size, exactly as <c>LoadImages</c> does.</param>
    /// <returns>A 32-bit image; the caller disposes it.</returns>
    /// <exception cref="InvalidDataException">The file is not an image SkiaSharp can decode; the message names it.</exception>
    public static MLImage Decode(string path, int? minShorterSide)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (minShorterSide is < 1) throw new ArgumentOutOfRangeException(nameof(minShorterSide), minShorterSide, "The shorter side must be at least 1 pixel.");
        byte[] bytes = File.ReadAllBytes(path);
        if (minShorterSide is { } side)
        {
            using var data = SKData.CreateCopy(bytes);
            using var codec = SKCodec.Create(data);
            if (codec is not null && codec.EncodedFormat == SKEncodedImageFormat.Jpeg
                && ScaledSize(codec, side) is { } size && size != codec.Info.Size)
                return DecodeScaled(codec, size, path);
        }
        try
        {
            return MLImage.CreateFromStream(new MemoryStream(bytes, writable: false));
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"'{path}' is not an image SkiaSharp can decode ({e.Message}).", e);
        }
    }

    private static SKSizeI? ScaledSize(SKCodec codec, int minShorterSide)
    {
        foreach (int denominator in Denominators)
        {
            var size = codec.GetScaledDimensions(1f / denominator);
            if (Math.Min(size.Width, size.Height) >= minShorterSide) return size;
        }
        return null;
    }

    private static MLImage DecodeScaled(SKCodec codec, SKSizeI size, string path)
    {
        // Straight into ML.NET's pixel layout: BGRA, premultiplied (JPEGs are opaque, so that changes no value).
        var info = new SKImageInfo(size.Width, size.Height, SKColorType.Bgra8888, SKAlphaType.Premul);
        using var bitmap = new SKBitmap(info);
        var result = codec.GetPixels(info, bitmap.GetPixels());
        // A truncated file decodes as far as it goes, as SKBitmap.Decode (and so LoadImages) lets it.
        if (result is not (SKCodecResult.Success or SKCodecResult.IncompleteInput))
            throw new InvalidDataException($"'{path}' could not be decoded at {size.Width}×{size.Height} ({result}).");
        return MLImage.CreateFromPixels(size.Width, size.Height, MLPixelFormat.Bgra32, bitmap.GetPixelSpan());
    }
}
