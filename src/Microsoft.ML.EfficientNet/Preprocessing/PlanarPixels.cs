using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Microsoft.ML.Data;

namespace Microsoft.ML.EfficientNet.Preprocessing;

/// <summary>
/// An image's pixels as the ONNX graph's input wants them: planar R, G, B planes of floats 0–255, written straight into
/// the caller's buffer. The values are exactly those <see cref="RecipeTransforms.Extract"/> (ML.NET's
/// <c>ExtractPixels(Rgb, planar, scale 1, offset 0)</c>) gives: each byte as stored (premultiplied, as ML.NET keeps
/// images), as a float. Written here because the batched featurizer packs every image into its batch buffer:
/// <c>ExtractPixels</c> fills a <c>VBuffer</c> pixel by pixel through a getter, which the batch then copies again, and the
/// pair cost about 0.8 ms per 256×256 image, a twentieth of B0's inference, on the critical path.
/// </summary>
internal static class PlanarPixels
{
    /// <summary>Writes <paramref name="image"/>'s pixels into <paramref name="target"/> (3 × height × width floats).</summary>
    /// <param name="image">A 32-bit image (BGRA or RGBA, as <see cref="MLImage"/> holds them).</param>
    /// <param name="target">Exactly 3 × width × height floats: the red plane, then green, then blue.</param>
    /// <exception cref="InvalidDataException">The image is not 32-bit or its size does not fill <paramref name="target"/>.</exception>
    public static void Write(MLImage image, Span<float> target)
    {
        ArgumentNullException.ThrowIfNull(image);
        int plane = image.Width * image.Height;
        if (target.Length != 3 * plane)
            throw new InvalidDataException($"expected {target.Length} pixel values, the {image.Width}×{image.Height} image has {3 * plane}");
        (int r, int b) = image.PixelFormat switch
        {
            MLPixelFormat.Bgra32 => (2, 0),
            MLPixelFormat.Rgba32 => (0, 2),
            _ => throw new InvalidDataException($"the image's pixel format is {image.PixelFormat}, not 32-bit BGRA or RGBA"),
        };
        var pixels = MemoryMarshal.Cast<byte, uint>(image.Pixels);
        if (pixels.Length != plane)
            throw new InvalidDataException($"the {image.Width}×{image.Height} image holds {image.Pixels.Length} bytes, not {4 * plane}");
        Write(pixels, r * 8, 8, b * 8, target[..plane], target.Slice(plane, plane), target.Slice(2 * plane, plane));
    }

    // Four channels packed in a little-endian uint: channel c is bits 8c to 8c + 7. Eight pixels at a time with
    // Vector256 where the CPU has it (AVX2), the rest one by one; both give the same floats (integers 0–255 are exact).
    private static void Write(ReadOnlySpan<uint> pixels, int redShift, int greenShift, int blueShift, Span<float> red, Span<float> green, Span<float> blue)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var mask = Vector256.Create(0xFFu);
            for (; i + Vector256<uint>.Count <= pixels.Length; i += Vector256<uint>.Count)
            {
                var v = Vector256.Create(pixels.Slice(i, Vector256<uint>.Count));
                Vector256.ConvertToSingle(Vector256.ShiftRightLogical(v, redShift) & mask).CopyTo(red[i..]);
                Vector256.ConvertToSingle(Vector256.ShiftRightLogical(v, greenShift) & mask).CopyTo(green[i..]);
                Vector256.ConvertToSingle(Vector256.ShiftRightLogical(v, blueShift) & mask).CopyTo(blue[i..]);
            }
        }
        for (; i < pixels.Length; i++)
        {
            uint p = pixels[i];
            red[i] = (p >> redShift) & 0xFF;
            green[i] = (p >> greenShift) & 0xFF;
            blue[i] = (p >> blueShift) & 0xFF;
        }
    }
}
