using System.Buffers.Binary;
using System.Text;
using SkiaSharp;

namespace Microsoft.ML.EfficientNet.Tests.Preprocessing;

/// <summary>What a case gives on a path: decoded pixels, or a per-row refusal.</summary>
public enum Outcome
{
    Decodes,
    Refused,
}

/// <param name="Name">File name (the extension is part of the case: a JPEG named .png, text named .jpg).</param>
/// <param name="Ours">Outcome through <c>ImageDecoder</c>: the featurizer's path column and the trainer's loaders.</param>
/// <param name="LoadImages">Outcome through ML.NET's <c>LoadImages</c> (an MLImage column); null: not run through it.</param>
/// <param name="Reason">A fragment of the refusal message, besides the file name.</param>
public sealed record ImageCase(string Name, Outcome Ours, Outcome? LoadImages, string? Reason = null)
{
    public override string ToString() => Name;
}

/// <summary>
/// Damaged and unusual image files, built in code: SkiaSharp encodes JPEG and PNG; 16-bit, grayscale and palette PNGs,
/// GIFs (SkiaSharp has no GIF encoder), BMPs, EXIF segments and CMYK JPEGs (no encoder at hand writes one) are written
/// byte by byte. Nothing is committed.
/// </summary>
public static class TestImages
{
    /// <summary>Every case with its expected outcomes.</summary>
    public static IReadOnlyList<ImageCase> Cases { get; } =
    [
        new("truncated.jpg", Outcome.Refused, Outcome.Decodes, "is truncated"),
        new("truncated.png", Outcome.Refused, Outcome.Decodes, "is truncated"),
        new("truncated.gif", Outcome.Refused, Outcome.Decodes, "is truncated"),
        new("empty.jpg", Outcome.Refused, Outcome.Refused, "is empty"),
        new("text.jpg", Outcome.Refused, Outcome.Refused, "not an image"),
        new("random.jpg", Outcome.Refused, Outcome.Refused, "not an image"),
        // 40 GB decoded: LoadImages would allocate it, so it is not run through LoadImages.
        new("huge-header.png", Outcome.Refused, null, "claims 100000×100000 pixels"),
        new("rgb16.png", Outcome.Decodes, Outcome.Decodes),
        new("gray.png", Outcome.Decodes, Outcome.Decodes),
        new("gray.jpg", Outcome.Decodes, Outcome.Decodes),
        new("palette-transparent.png", Outcome.Decodes, Outcome.Decodes),
        new("rgba.png", Outcome.Decodes, Outcome.Decodes),
        new("one-pixel.png", Outcome.Decodes, Outcome.Decodes),
        new("wide-10000x1.png", Outcome.Decodes, Outcome.Decodes),
        new("animated.gif", Outcome.Decodes, Outcome.Decodes),
        new("picture.bmp", Outcome.Decodes, Outcome.Decodes),
        new("jpeg-named.png", Outcome.Decodes, Outcome.Decodes),
        new("exif-6.jpg", Outcome.Decodes, Outcome.Decodes),
        new("cmyk.jpg", Outcome.Decodes, Outcome.Decodes),
    ];

    /// <summary>Colour of the animated GIF's first frame (its second frame is another colour).</summary>
    public static readonly (byte R, byte G, byte B) FirstFrameColour = (200, 40, 10);

    /// <summary>Writes every case into <paramref name="folder"/>; returns the paths in <see cref="Cases"/> order.</summary>
    public static string[] WriteAll(string folder)
    {
        var jpeg = Jpeg(Pattern(48, 32));
        var png = Png(Pattern(40, 30));
        var files = new Dictionary<string, byte[]>
        {
            ["truncated.jpg"] = jpeg[..(jpeg.Length * 2 / 3)],
            ["truncated.png"] = png[..(png.Length * 2 / 3)],
            ["truncated.gif"] = Truncate(Gif(24, 16, [FirstFrameColour])),
            ["empty.jpg"] = [],
            ["text.jpg"] = Encoding.UTF8.GetBytes("this is not a JPEG, only text\n"),
            ["random.jpg"] = RandomBytes(3000, seed: 7),
            ["huge-header.png"] = HandPng.Write(100000, 100000, colourType: 2, bitDepth: 8, rows: new byte[1000]),
            ["rgb16.png"] = Rgb16Png(20, 12),
            ["gray.png"] = HandPng.Write(20, 12, colourType: 0, bitDepth: 8, rows: Rows(20, 12, 1, (x, y, c) => (byte)(x * 12 + y))),
            ["gray.jpg"] = GrayJpeg(32, 24),
            ["palette-transparent.png"] = PalettePng(16, 16),
            ["rgba.png"] = Png(Pattern(24, 20, alpha: true)),
            ["one-pixel.png"] = Png(Pattern(1, 1)),
            ["wide-10000x1.png"] = Png(Pattern(10000, 1)),
            ["animated.gif"] = Gif(24, 16, [FirstFrameColour, (10, 60, 220)]),
            ["picture.bmp"] = Bmp(Pattern(30, 20)),
            ["jpeg-named.png"] = jpeg,
            ["exif-6.jpg"] = WithExifOrientation(jpeg, 6),
            ["cmyk.jpg"] = CmykJpeg(12, 10, CmykBlock),
        };
        return Cases.Select(c =>
        {
            string path = Path.Combine(folder, c.Name);
            File.WriteAllBytes(path, files[c.Name]);
            return path;
        }).ToArray();
    }

    /// <summary>An asymmetric, smooth colour pattern (JPEG keeps it recognisable), opaque unless <paramref name="alpha"/>.</summary>
    public static SKBitmap Pattern(int width, int height, bool alpha = false)
    {
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Bgra8888, alpha ? SKAlphaType.Unpremul : SKAlphaType.Opaque));
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                bitmap.SetPixel(x, y, new SKColor((byte)(x * 255 / Math.Max(1, width - 1)), (byte)(y * 255 / Math.Max(1, height - 1)),
                    (byte)((x + 2 * y) * 4 % 256), alpha ? (byte)(255 - x * 200 / Math.Max(1, width)) : (byte)255));
        return bitmap;
    }

    public static byte[] Jpeg(SKBitmap bitmap, int quality = 95) => Encode(bitmap, SKEncodedImageFormat.Jpeg, quality);

    public static byte[] Png(SKBitmap bitmap) => Encode(bitmap, SKEncodedImageFormat.Png, 100);

    private static byte[] Encode(SKBitmap bitmap, SKEncodedImageFormat format, int quality)
    {
        using (bitmap)
        {
            using var image = SKImage.FromBitmap(bitmap);
            using var data = image.Encode(format, quality) ?? throw new InvalidOperationException($"SkiaSharp cannot encode {format}.");
            return data.ToArray();
        }
    }

    private static byte[] GrayJpeg(int width, int height)
    {
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Gray8, SKAlphaType.Opaque));
        var pixels = new byte[bitmap.RowBytes * height];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++) pixels[y * bitmap.RowBytes + x] = (byte)(x * 7 + y * 3);
        System.Runtime.InteropServices.Marshal.Copy(pixels, 0, bitmap.GetPixels(), pixels.Length);
        return Jpeg(bitmap);
    }

    private static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        bytes[0] = 0x42; // never a valid signature by chance
        return bytes;
    }

    private static byte[] Truncate(byte[] gif) => gif[..(gif.Length - 40)]; // inside the frame's LZW data, no trailer

    /// <summary>
    /// Inserts a minimal EXIF APP1 segment (big-endian TIFF header, one IFD entry: Orientation = <paramref name="orientation"/>)
    /// after the JPEG's JFIF APP0 segment.
    /// </summary>
    public static byte[] WithExifOrientation(byte[] jpeg, int orientation)
    {
        if (jpeg[0] != 0xFF || jpeg[1] != 0xD8) throw new ArgumentException("not a JPEG", nameof(jpeg));
        int at = 2;
        if (jpeg[2] == 0xFF && jpeg[3] == 0xE0) at = 4 + BinaryPrimitives.ReadUInt16BigEndian(jpeg.AsSpan(4));
        byte[] app1 =
        [
            0xFF, 0xE1, 0x00, 0x22, // APP1, length 34 (itself included)
            (byte)'E', (byte)'x', (byte)'i', (byte)'f', 0, 0,
            (byte)'M', (byte)'M', 0x00, 0x2A, 0x00, 0x00, 0x00, 0x08, // TIFF header, IFD0 at 8
            0x00, 0x01, // one entry
            0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, (byte)orientation, 0x00, 0x00, // Orientation, SHORT, 1 value
            0x00, 0x00, 0x00, 0x00, // no next IFD
        ];
        return [.. jpeg[..at], .. app1, .. jpeg[at..]];
    }

    /// <summary>
    /// The stored pixels (<paramref name="width"/> × <paramref name="height"/>, <paramref name="channels"/> bytes each) as
    /// EXIF orientation <paramref name="orientation"/> says to show them, by coordinates alone (no SkiaSharp).
    /// </summary>
    public static (byte[] Pixels, int Width, int Height) Upright(byte[] pixels, int width, int height, int channels, int orientation)
    {
        bool swap = orientation >= 5;
        int dw = swap ? height : width, dh = swap ? width : height;
        var result = new byte[pixels.Length];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                (int X, int Y) = orientation switch
                {
                    1 => (x, y),
                    2 => (width - 1 - x, y),
                    3 => (width - 1 - x, height - 1 - y),
                    4 => (x, height - 1 - y),
                    5 => (y, x),
                    6 => (height - 1 - y, x),
                    7 => (height - 1 - y, width - 1 - x),
                    8 => (y, width - 1 - x),
                    _ => throw new ArgumentOutOfRangeException(nameof(orientation)),
                };
                pixels.AsSpan((y * width + x) * channels, channels).CopyTo(result.AsSpan((Y * dw + X) * channels, channels));
            }
        return (result, dw, dh);
    }

    private static byte[] Rows(int width, int height, int bytesPerPixel, Func<int, int, int, byte> value)
    {
        var rows = new byte[height * (1 + width * bytesPerPixel)];
        int i = 0;
        for (int y = 0; y < height; y++)
        {
            rows[i++] = 0; // filter: none
            for (int x = 0; x < width; x++)
                for (int c = 0; c < bytesPerPixel; c++) rows[i++] = value(x, y, c);
        }
        return rows;
    }

    private static byte[] Rgb16Png(int width, int height) =>
        // Big-endian 16-bit samples; the high byte carries the visible value.
        HandPng.Write(width, height, colourType: 2, bitDepth: 16, rows: Rows(width, height, 6, (x, y, c) => (c % 2) == 0 ? (byte)((x * 11 + y * 5 + c * 40) % 256) : (byte)(x * 3)));

    private static byte[] PalettePng(int width, int height)
    {
        byte[] palette = [255, 0, 0, 0, 255, 0, 0, 0, 255, 250, 250, 250];
        byte[] alpha = [255, 128, 0]; // entry 3 is opaque (tRNS may be shorter than the palette)
        return HandPng.Write(width, height, colourType: 3, bitDepth: 8, rows: Rows(width, height, 1, (x, y, c) => (byte)((x / 4 + y / 4) % 4)), palette, alpha);
    }

    /// <summary>
    /// A GIF89a with one solid-colour frame per entry (looping, 0.1 s each). LZW with a 7-bit minimum code size: codes are
    /// 8 bits wide, and a clear code every 100 pixels keeps them so, so the code stream is the pixel bytes themselves.
    /// </summary>
    public static byte[] Gif(int width, int height, (byte R, byte G, byte B)[] frames)
    {
        using var file = new MemoryStream();
        void U16(int v) => file.Write([(byte)v, (byte)(v >> 8)]);
        file.Write(Encoding.ASCII.GetBytes("GIF89a"));
        U16(width);
        U16(height);
        file.Write([0xF6, 0, 0]); // global colour table of 128 entries, background 0, no aspect
        var table = new byte[128 * 3];
        for (int i = 0; i < frames.Length; i++) (table[3 * i], table[3 * i + 1], table[3 * i + 2]) = frames[i];
        file.Write(table);
        file.Write([0x21, 0xFF, 0x0B, .. Encoding.ASCII.GetBytes("NETSCAPE2.0"), 0x03, 0x01, 0x00, 0x00, 0x00]);
        for (int f = 0; f < frames.Length; f++)
        {
            file.Write([0x21, 0xF9, 0x04, 0x04, 10, 0, 0, 0]); // graphic control: keep the frame, 10/100 s
            file.WriteByte(0x2C);
            U16(0);
            U16(0);
            U16(width);
            U16(height);
            file.WriteByte(0);
            file.WriteByte(7); // LZW minimum code size
            var codes = new List<byte>();
            for (int p = 0; p < width * height; p++)
            {
                if (p % 100 == 0) codes.Add(128); // clear
                codes.Add((byte)f);
            }
            codes.Add(129); // end of information
            for (int i = 0; i < codes.Count; i += 255)
            {
                int n = Math.Min(255, codes.Count - i);
                file.WriteByte((byte)n);
                file.Write(codes.GetRange(i, n).ToArray());
            }
            file.WriteByte(0);
        }
        file.WriteByte(0x3B);
        return file.ToArray();
    }

    /// <summary>
    /// The stored (Adobe-inverted) C, M, Y, K samples of block (<paramref name="bx"/>, <paramref name="by"/>) of the
    /// <c>cmyk.jpg</c> case: C and M vary across the image, Y alternates, K darkens downwards.
    /// </summary>
    public static (byte C, byte M, byte Y, byte K) CmykBlock(int bx, int by) =>
        ((byte)(40 + bx * 18), (byte)(250 - by * 20), (byte)((bx + by) % 2 == 0 ? 255 : 60), (byte)(255 - by * 12));

    /// <summary>
    /// A baseline four-component (CMYK) JPEG of <paramref name="blocksX"/> × <paramref name="blocksY"/> blocks of 8×8
    /// pixels, each block one colour (<paramref name="block"/>: the stored samples), with an Adobe APP14 segment
    /// (transform 0: CMYK, not YCCK), as Photoshop writes them. Every block has only a DC coefficient and the quantisation
    /// table is all ones, so each decodes to exactly its samples. Huffman tables: DC categories 0–11 as 4-bit codes, and
    /// one 1-bit AC code, end of block.
    /// </summary>
    public static byte[] CmykJpeg(int blocksX, int blocksY, Func<int, int, (byte C, byte M, byte Y, byte K)> block)
    {
        using var file = new MemoryStream();
        void Segment(byte marker, params byte[] body)
        {
            file.Write([0xFF, marker, (byte)((body.Length + 2) >> 8), (byte)(body.Length + 2)]);
            file.Write(body);
        }
        int width = 8 * blocksX, height = 8 * blocksY;
        file.Write([0xFF, 0xD8]);
        Segment(0xEE, [.. Encoding.ASCII.GetBytes("Adobe"), 0, 100, 0, 0, 0, 0, 0]); // version 100, flags 0, transform 0
        Segment(0xDB, [0, .. Enumerable.Repeat((byte)1, 64)]);
        Segment(0xC0, [8, (byte)(height >> 8), (byte)height, (byte)(width >> 8), (byte)width, 4, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0, 4, 0x11, 0]);
        Segment(0xC4, [0x00, 0, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
        Segment(0xC4, [0x10, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00]);
        Segment(0xDA, [4, 1, 0x00, 2, 0x00, 3, 0x00, 4, 0x00, 0, 63, 0]);

        int bits = 0, count = 0;
        void Put(int value, int length)
        {
            for (int i = length - 1; i >= 0; i--)
            {
                bits = (bits << 1) | ((value >> i) & 1);
                if (++count < 8) continue;
                file.WriteByte((byte)bits);
                if (bits == 0xFF) file.WriteByte(0); // byte stuffing
                bits = count = 0;
            }
        }
        var previous = new int[4];
        for (int by = 0; by < blocksY; by++)
            for (int bx = 0; bx < blocksX; bx++)
            {
                var (c, m, y, k) = block(bx, by);
                byte[] samples = [c, m, y, k];
                for (int component = 0; component < 4; component++)
                {
                    int dc = 8 * (samples[component] - 128); // the DCT's DC term of a uniform block
                    int diff = dc - previous[component];
                    previous[component] = dc;
                    int category = diff == 0 ? 0 : 32 - System.Numerics.BitOperations.LeadingZeroCount((uint)Math.Abs(diff));
                    Put(category, 4);
                    if (category > 0) Put(diff >= 0 ? diff : diff + (1 << category) - 1, category);
                    Put(0, 1); // end of block: every AC coefficient is zero
                }
            }
        if (count > 0) Put(0x7F, 8 - count); // pad the last byte with ones
        file.Write([0xFF, 0xD9]);
        return file.ToArray();
    }

    /// <summary>A 24-bit bottom-up BMP (BITMAPINFOHEADER) of an opaque bitmap.</summary>
    public static byte[] Bmp(SKBitmap bitmap)
    {
        using (bitmap)
        {
            int w = bitmap.Width, h = bitmap.Height, stride = (3 * w + 3) / 4 * 4;
            var file = new byte[54 + stride * h];
            file[0] = (byte)'B';
            file[1] = (byte)'M';
            BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(2), file.Length);
            BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(10), 54);
            BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(14), 40);
            BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(18), w);
            BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(22), h);
            BinaryPrimitives.WriteInt16LittleEndian(file.AsSpan(26), 1);
            BinaryPrimitives.WriteInt16LittleEndian(file.AsSpan(28), 24);
            BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(34), stride * h);
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    var c = bitmap.GetPixel(x, y);
                    int at = 54 + (h - 1 - y) * stride + 3 * x;
                    (file[at], file[at + 1], file[at + 2]) = (c.Blue, c.Green, c.Red);
                }
            return file;
        }
    }
}
