using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.ML.Data;
using SkiaSharp;

namespace Microsoft.ML.EfficientNet.Preprocessing;

/// <summary>
/// The one image decoder of this library: the featurizer's path column, the trainer's loaders (<c>FileImageSet</c>,
/// <c>DataViewImageSet</c>, <see cref="RgbImage.Decode"/>) all decode through it, with SkiaSharp, the decoder
/// ML.NET's <c>LoadImages</c> uses. A good file gives the same pixels as <c>LoadImages</c>; where they differ, this decoder
/// is stricter:
/// <list type="bullet">
/// <item>a file whose data stops before the image does (a truncated JPEG, PNG or GIF) is an error naming the file, not
/// a partly grey image (<c>LoadImages</c> keeps what was decoded);</item>
/// <item>a header claiming more than <see cref="MaxPixels"/> pixels is refused before any pixel memory is allocated;</item>
/// <item>with <see cref="ApplyExifOrientation"/>, EXIF orientations 2–8 are applied (rotation, flip) before anything
/// else sees the image.</item>
/// </list>
/// An instance is one run's decoder: it logs the first file with an EXIF orientation it does not apply, once, and it lets
/// the run's loaders warn about each unreadable file once (<see cref="FirstFailure"/>). It may be used from several threads
/// at once.
/// </summary>
internal sealed class ImageDecoder
{
    /// <summary>
    /// The default of <see cref="MaxPixels"/>: 100 million pixels (400 MB decoded), above any camera photo (a 12000×8000
    /// medium-format frame is 96 million).
    /// </summary>
    public const long DefaultMaxPixels = 100_000_000;

    // libjpeg's DCT scales 1/8 and 1/4, smallest image first. Skia's JPEG codec offers every k/8, and each decodes
    // faster than the full image (6/8 of a 500×375 JPEG in 65 % of the time), but above 1/4 the truncated DCT keeps
    // detail close to the new pixel pitch, which the resize after it aliases, where torchvision's antialiased resize of
    // the full image removes it. Measured for a 256 resize on textured JPEGs (mean |Δ| of the crop from torchvision's,
    // of 255, full decode → scaled): 6/8 of 500×375 1.0 → 5.8; 3/8 of 1024×768 0.88 → 1.37; 1/2 of it 0.88 → 1.35 with
    // B0 features 5.5 % → 9.7 % from torchvision's; 1/4 and 1/8 of larger photos stay as close as the full decode.
    private static readonly int[] Denominators = [8, 4];

    private readonly ILogger? _logger;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _failed = new(StringComparer.Ordinal);
    private int _orientationWarned;

    /// <summary>Creates a decoder.</summary>
    /// <param name="applyExifOrientation">Apply EXIF orientations 2–8 before the image is used. Default false: pixels as
    /// stored, as <c>LoadImages</c> gives them (then the first file whose orientation is not 1 is logged as a warning).</param>
    /// <param name="maxPixels">Largest width × height accepted, checked against the file's header before decoding.
    /// Default <see cref="DefaultMaxPixels"/>.</param>
    /// <param name="logger">Receives the one orientation warning. Default null.</param>
    public ImageDecoder(bool applyExifOrientation = false, long maxPixels = DefaultMaxPixels, ILogger? logger = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPixels, 1);
        ApplyExifOrientation = applyExifOrientation;
        MaxPixels = maxPixels;
        _logger = logger;
    }

    /// <summary>A decoder with the defaults and no logger.</summary>
    public static ImageDecoder Default { get; } = new();

    /// <summary>Whether EXIF orientations 2–8 are applied.</summary>
    public bool ApplyExifOrientation { get; }

    /// <summary>Largest width × height accepted.</summary>
    public long MaxPixels { get; }

    /// <summary>
    /// Largest image file read: 4 bytes per pixel of <see cref="MaxPixels"/> (an uncompressed 32-bit BMP) plus 16 MB of
    /// headers and metadata. No image within the pixel limit needs more; a larger file is refused before it is read.
    /// </summary>
    internal long MaxFileBytes => MaxPixels > (long.MaxValue - (16 << 20)) / 4 ? long.MaxValue : 4 * MaxPixels + (16 << 20);

    /// <summary>
    /// True the first time <paramref name="source"/> is reported as failed to this decoder, false after: a loader that
    /// meets a bad file every epoch warns about it once per run.
    /// </summary>
    /// <param name="source">The file (or other description) that failed to load.</param>
    public bool FirstFailure(string source) => _failed.TryAdd(source, 0);

    /// <summary>Decodes a file into interleaved RGB (premultiplied, as <c>LoadImages</c>'s pixels are).</summary>
    /// <param name="path">The file.</param>
    /// <exception cref="InvalidDataException">The file is empty, not an image, truncated, damaged or too large; the
    /// message names it.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public RgbImage DecodeRgb(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var bitmap = DecodeBitmap(ReadImageFile(path), path, minShorterSide: null);
        var bytes = bitmap.GetPixelSpan();
        bool bgra = bitmap.ColorType == SKColorType.Bgra8888;
        int w = bitmap.Width, h = bitmap.Height, stride = bitmap.RowBytes;
        var pixels = new byte[w * h * 3];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int s = y * stride + 4 * x, d = 3 * (y * w + x);
                pixels[d] = bytes[s + (bgra ? 2 : 0)];
                pixels[d + 1] = bytes[s + 1];
                pixels[d + 2] = bytes[s + (bgra ? 0 : 2)];
            }
        return new RgbImage(w, h, pixels);
    }

    /// <summary>
    /// Decodes a file into an <see cref="MLImage"/> as <c>LoadImages</c> does (32-bit, <see cref="MLImage.Tag"/> set to
    /// the path); when <paramref name="minShorterSide"/> is given and the file is a JPEG, at the smallest of libjpeg's DCT
    /// scales (1/8, 1/4) whose shorter side is still at least that long, which skips most of the decoding work.
    /// </summary>
    /// <param name="path">The file. It is read whole first, as <c>LoadImages</c> does, so it is never locked.</param>
    /// <param name="minShorterSide">The smallest shorter side, in pixels, the decoded image may have (the recipe's
    /// resize size); null decodes at full size, as <c>LoadImages</c> does.</param>
    /// <returns>A 32-bit image; the caller disposes it.</returns>
    /// <exception cref="InvalidDataException">The file is empty, not an image, truncated, damaged or too large; the
    /// message names it.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public MLImage DecodeMLImage(string path, int? minShorterSide = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        return ToMLImage(DecodeBitmap(ReadImageFile(path), path, minShorterSide), path);
    }

    /// <summary>
    /// Decodes an encoded image in memory (a file's bytes, a request body) into an <see cref="MLImage"/>, with the same
    /// checks and pixels as <see cref="DecodeMLImage(string, int?)"/>: truncated data and oversized headers are refused.
    /// </summary>
    /// <param name="encodedImage">The bytes of a JPEG, PNG, GIF, BMP, WebP or ICO file.</param>
    /// <param name="source">What the bytes are, for messages and <see cref="MLImage.Tag"/>.</param>
    /// <returns>A 32-bit image; the caller disposes it.</returns>
    /// <exception cref="InvalidDataException">The bytes are empty, not an image, truncated, damaged or too large; the
    /// message names <paramref name="source"/>.</exception>
    internal MLImage DecodeMLImage(byte[] encodedImage, string source)
    {
        ArgumentNullException.ThrowIfNull(encodedImage);
        ArgumentNullException.ThrowIfNull(source);
        return ToMLImage(DecodeBitmap(encodedImage, source, minShorterSide: null), source);
    }

    private static MLImage ToMLImage(SKBitmap decoded, string tag)
    {
        using var bitmap = decoded;
        var format = bitmap.ColorType == SKColorType.Bgra8888 ? MLPixelFormat.Bgra32 : MLPixelFormat.Rgba32;
        var image = MLImage.CreateFromPixels(bitmap.Width, bitmap.Height, format, bitmap.GetPixelSpan());
        image.Tag = tag;
        return image;
    }

    /// <summary>
    /// The bytes of an image file, its kind and size checked first from its metadata: a FIFO would block the read
    /// forever, and a file far larger than any image within the pixel limit would be read whole before the header is seen.
    /// </summary>
    private byte[] ReadImageFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var stat = IO.FileStat.RequireRegular(path, "image");
        if (stat.Length > MaxFileBytes)
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                $"'{path}' is {stat.Length:N0} bytes, more than the limit of {MaxFileBytes:N0} for an image file (4 bytes per pixel of MaxImagePixels, plus 16 MB); it was not read."));
        return File.ReadAllBytes(path);
    }

    /// <summary>
    /// The one decoding helper: header checks, then the pixels as <c>SKBitmap.Decode</c> gives them (so as
    /// <c>LoadImages</c> does) unless the data is incomplete, then 32-bit as <see cref="MLImage"/> holds them, then the
    /// orientation. Returns a Bgra8888 or Rgba8888 bitmap with tight rows.
    /// </summary>
    private SKBitmap DecodeBitmap(byte[] bytes, string path, int? minShorterSide)
    {
        if (minShorterSide is < 1) throw new ArgumentOutOfRangeException(nameof(minShorterSide), minShorterSide, "The shorter side must be at least 1 pixel.");
        if (bytes.Length == 0) throw new InvalidDataException($"'{path}' is empty (0 bytes), not an image.");
        using var data = SKData.CreateCopy(bytes);
        using var codec = SKCodec.Create(data)
            ?? throw new InvalidDataException($"'{path}' is not an image SkiaSharp can decode ({bytes.Length} bytes; no JPEG, PNG, GIF, BMP, WebP or ICO header, or a damaged one).");
        var full = codec.Info;
        long pixels = (long)full.Width * full.Height;
        if (pixels > MaxPixels)
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                $"'{path}' claims {full.Width}×{full.Height} pixels ({pixels:N0}), more than the limit of {MaxPixels:N0} (MaxImagePixels); it was not decoded."));

        SKImageInfo info;
        if (minShorterSide is { } side && codec.EncodedFormat == SKEncodedImageFormat.Jpeg && ScaledSize(codec, side) is { } size && size != full.Size)
        {
            // Straight into ML.NET's pixel layout: BGRA, premultiplied (JPEGs are opaque, so that changes no value).
            info = new SKImageInfo(size.Width, size.Height, SKColorType.Bgra8888, SKAlphaType.Premul);
        }
        else
        {
            // What SKBitmap.Decode (and so MLImage.CreateFromStream, LoadImages) asks the codec for.
            info = full;
            if (info.AlphaType == SKAlphaType.Unpremul) info.AlphaType = SKAlphaType.Premul;
            info.ColorSpace = null;
        }

        var bitmap = new SKBitmap();
        try
        {
            if (!bitmap.TryAllocPixels(info))
                throw new InvalidDataException($"'{path}' ({info.Width}×{info.Height}) could not be allocated for decoding.");
            var result = codec.GetPixels(info, bitmap.GetPixels());
            if (result == SKCodecResult.IncompleteInput)
                throw new InvalidDataException($"'{path}' is truncated: its {codec.EncodedFormat.ToString().ToUpperInvariant()} data ends before the {full.Width}×{full.Height} image does.");
            if (result != SKCodecResult.Success)
                throw new InvalidDataException($"'{path}' could not be decoded as a {full.Width}×{full.Height} {codec.EncodedFormat.ToString().ToUpperInvariant()} ({result}).");
            bitmap = To32Bit(bitmap, path);
            var origin = codec.EncodedOrigin;
            if (origin is SKEncodedOrigin.TopLeft or < SKEncodedOrigin.TopLeft or > SKEncodedOrigin.LeftBottom) return bitmap;
            if (ApplyExifOrientation) return Orient(bitmap, origin);
            if (Interlocked.Exchange(ref _orientationWarned, 1) == 0)
                _logger?.LogWarning("'{Path}' has EXIF orientation {Orientation} ({Origin}), which is not applied: images are used as stored, as ML.NET's LoadImages does. " +
                    "Set ApplyExifOrientation to rotate them upright (this warning is logged once per run).", path, (int)origin, origin);
            return bitmap;
        }
        catch
        {
            bitmap.Dispose();
            throw;
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

    /// <summary>As <see cref="MLImage"/> keeps an image: Bgra8888 and Rgba8888 as they are, anything else copied to Bgra8888.</summary>
    private static SKBitmap To32Bit(SKBitmap bitmap, string path)
    {
        if (bitmap.ColorType is SKColorType.Bgra8888 or SKColorType.Rgba8888 && bitmap.RowBytes == 4 * bitmap.Width) return bitmap;
        using (bitmap)
        {
            return bitmap.Copy(SKColorType.Bgra8888)
                ?? throw new InvalidDataException($"'{path}' decodes to {bitmap.ColorType} pixels, which cannot be converted to 32-bit BGRA.");
        }
    }

    /// <summary>Applies EXIF orientation 2–8: the transform that shows the stored pixels upright.</summary>
    private static SKBitmap Orient(SKBitmap source, SKEncodedOrigin origin)
    {
        using (source)
        {
            int w = source.Width, h = source.Height;
            bool swap = origin >= SKEncodedOrigin.LeftTop;
            // Destination = M · source, in pixel-edge coordinates; each maps the w×h image onto the destination exactly.
            var matrix = origin switch
            {
                SKEncodedOrigin.TopRight => new SKMatrix(-1, 0, w, 0, 1, 0, 0, 0, 1),     // 2: mirror left–right
                SKEncodedOrigin.BottomRight => new SKMatrix(-1, 0, w, 0, -1, h, 0, 0, 1), // 3: rotate 180°
                SKEncodedOrigin.BottomLeft => new SKMatrix(1, 0, 0, 0, -1, h, 0, 0, 1),   // 4: mirror top–bottom
                SKEncodedOrigin.LeftTop => new SKMatrix(0, 1, 0, 1, 0, 0, 0, 0, 1),       // 5: transpose
                SKEncodedOrigin.RightTop => new SKMatrix(0, -1, h, 1, 0, 0, 0, 0, 1),     // 6: rotate 90° clockwise
                SKEncodedOrigin.RightBottom => new SKMatrix(0, -1, h, -1, 0, w, 0, 0, 1), // 7: transverse
                SKEncodedOrigin.LeftBottom => new SKMatrix(0, 1, 0, -1, 0, w, 0, 0, 1),   // 8: rotate 90° anticlockwise
                _ => SKMatrix.Identity,
            };
            var info = source.Info.WithSize(swap ? h : w, swap ? w : h);
            var oriented = new SKBitmap(info);
            using var canvas = new SKCanvas(oriented);
            canvas.SetMatrix(matrix);
            using var paint = new SKPaint { BlendMode = SKBlendMode.Src, FilterQuality = SKFilterQuality.None, IsAntialias = false };
            canvas.DrawBitmap(source, 0, 0, paint);
            canvas.Flush();
            return oriented;
        }
    }
}
