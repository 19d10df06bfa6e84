using Microsoft.ML.Data;
using Microsoft.ML.EfficientNet.Preprocessing;

namespace Microsoft.ML.EfficientNet.Tests.Preprocessing;

[TestClass]
public sealed class PlanarPixelsTests
{
    private sealed class ImageRow
    {
        [Microsoft.ML.Transforms.Image.ImageType(29, 37)] // height, width
        public MLImage Image { get; set; } = null!;
    }

    [TestMethod]
    [DataRow(MLPixelFormat.Bgra32, false)]
    [DataRow(MLPixelFormat.Rgba32, false)]
    [DataRow(MLPixelFormat.Bgra32, true)]
    [DataRow(MLPixelFormat.Rgba32, true)]
    public void PixelsEqualExtractPixelsExactly(MLPixelFormat format, bool alpha)
    {
        // 37 × 29 = 1,073 pixels: whole vectors and a remainder. Alpha below 255 checks that the stored (premultiplied)
        // bytes are taken as ExtractPixels takes them.
        const int width = 37, height = 29;
        var rng = new Random(5);
        byte[] bytes = new byte[4 * width * height];
        rng.NextBytes(bytes);
        if (!alpha) for (int i = 3; i < bytes.Length; i += 4) bytes[i] = 255;
        var ml = new MLContext(seed: 1);
        // ML.NET's cursor disposes the images it served, so it gets its own copy.
        var data = ml.Data.LoadFromEnumerable([new ImageRow { Image = MLImage.CreateFromPixels(width, height, format, bytes) }]);
        var extracted = ImageData.Column(RecipeTransforms.Extract(ml.Transforms, "Image", "Pixels").Fit(data).Transform(data), "Pixels").Single();

        using var image = MLImage.CreateFromPixels(width, height, format, bytes);
        float[] packed = new float[3 * width * height];
        PlanarPixels.Write(image, packed);
        CollectionAssert.AreEqual(extracted, packed);
        Assert.AreEqual(bytes[format == MLPixelFormat.Bgra32 ? 2 : 0], packed[0], "the first plane is red");
    }

    [TestMethod]
    public void ABufferOfTheWrongSizeIsNamed()
    {
        using var image = MLImage.CreateFromPixels(4, 3, MLPixelFormat.Bgra32, new byte[48]);
        var error = Assert.ThrowsExactly<InvalidDataException>(() => PlanarPixels.Write(image, new float[3 * 5 * 3]));
        Assert.AreEqual("expected 45 pixel values, the 4×3 image has 36", error.Message);
    }
}
