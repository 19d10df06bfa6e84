using Microsoft.ML.Data;
using Microsoft.ML.EfficientNet.Preprocessing;
using Microsoft.ML.EfficientNet.Scoring;
using Microsoft.ML.EfficientNet.Weights;

namespace Microsoft.ML.EfficientNet.Tests.Scoring;

/// <summary>
/// The featurizer on a column of image paths: the same features as LoadImages followed by the featurizer, a saved model
/// that is the standard chain with LoadImages first, and JPEGs decoded at a reduced DCT scale when asked for.
/// </summary>
[TestClass]
public sealed class PathInputTests
{
    public TestContext TestContext { get; set; } = null!;

    private static string LargeFolder => Path.GetDirectoryName(Fixtures.Generated("images-large/photo_0.jpg"))!;

    private static EfficientNetFeaturizerOptions Options(bool reduced = false, string? folder = null) => new()
    {
        WeightsPath = Fixtures.Generated("b0.torchvision.pth"),
        ImageFolder = folder ?? ImageData.Folder,
        ReducedScaleJpegDecoding = reduced,
    };

    [TestMethod]
    public void PathColumnGivesTheFeaturesOfLoadImagesAndSavesAsTheStandardChain()
    {
        using var dir = new TemporaryDirectory();
        var ml = new MLContext(seed: 1);
        var rows = ImageData.GoodRows();
        var data = ImageData.Load(ml, rows);
        var images = ml.Transforms.LoadImages("Image", ImageData.Folder, "Path").Fit(data).Transform(data);
        using var fromImages = ml.Transforms.EfficientNetFeaturizer("b0", options: Options()).Fit(images);
        var expected = ImageData.Column(fromImages.Transform(images), "Features");

        using var fromPaths = ml.Transforms.EfficientNetFeaturizer("b0", inputColumnName: "Path", options: Options()).Fit(data);
        var output = fromPaths.Transform(data);
        // Input columns pass through; the temporary image, resized and pixel columns are dropped.
        CollectionAssert.AreEqual(new[] { "Path", "Label", "Features" }, output.Schema.Where(c => !c.IsHidden).Select(c => c.Name).ToArray());
        var batched = ImageData.Column(output, "Features");
        var rowAtATime = ImageData.Column(fromPaths.StandardChain.Transform(data), "Features");
        for (int i = 0; i < rows.Length; i++)
        {
            Assert.IsTrue(Parity.MaxAbsDiff(expected[i], batched[i]) <= 1e-5, rows[i].Path);
            Assert.IsTrue(Parity.MaxAbsDiff(expected[i], rowAtATime[i]) <= 1e-5, rows[i].Path);
        }

        // Saved, it is LoadImages → ResizeImages → ExtractPixels → ApplyOnnxModel, loadable without this library.
        string path = Path.Combine(dir.Path, "featurizer.zip");
        ml.Model.Save(fromPaths, data.Schema, path);
        var reloaded = ModelLoadCheck.Run(path, ImageData.Folder, "Features", rows.Select(r => r.Path));
        CollectionAssert.DoesNotContain(reloaded.Assemblies.ToList(), "Microsoft.ML.EfficientNet");
        var values = reloaded.Vectors();
        for (int i = 0; i < rows.Length; i++) Assert.IsTrue(Parity.MaxAbsDiff(expected[i], values[i]) <= 1e-5, rows[i].Path);
    }

    [TestMethod]
    public void AFittedFeaturizerRefusesTheOtherKindOfInputColumn()
    {
        var ml = new MLContext(seed: 1);
        var data = ImageData.Load(ml, ImageData.GoodRows().Take(1));
        using var fromPaths = ml.Transforms.EfficientNetFeaturizer("b0", inputColumnName: "Path", options: Options()).Fit(data);
        var images = ml.Transforms.LoadImages("Path", ImageData.Folder, "Path").Fit(data).Transform(data);
        var error = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => fromPaths.Transform(images));
        StringAssert.Contains(error.Message, "Schema mismatch for input column 'Path': expected String (an image path), as when the featurizer was fitted, got Image");
    }

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void UnreadableAndMissingFilesGiveNaNRowsWithEitherDecoder(bool reduced)
    {
        var good = ImageData.GoodRows();
        var missing = new ImageData.Row { Path = "round/no-such-file.jpg", Label = "bad" };
        var rows = good.Take(2).Concat(ImageData.BadRows()).Append(missing).Concat(good.Skip(2).Take(2)).ToArray();
        var ml = new MLContext(seed: 1);
        var data = ImageData.Load(ml, rows);
        var logger = new ListLogger();
        var options = Options(reduced);
        options.Resolution = 64; // resize 73: every fixture JPEG has a reduced scale, the truncated one included
        options.BatchSize = 3;
        options.Logger = logger;
        using var featurizer = ml.Transforms.EfficientNetFeaturizer("b0", inputColumnName: "Path", options: options).Fit(data);
        var features = ImageData.Column(featurizer.Transform(data), "Features");
        Assert.AreEqual(rows.Length, features.Count, "every row is scored");
        for (int i = 0; i < rows.Length; i++)
        {
            // A truncated JPEG is refused with either decoder (LoadImages would decode it as far as it goes).
            bool unreadable = rows[i].Label == "bad";
            Assert.AreEqual(unreadable, features[i].All(float.IsNaN), rows[i].Path);
            if (!unreadable) Assert.IsFalse(features[i].Any(float.IsNaN), rows[i].Path);
        }
        var warnings = logger.Entries.Where(e => e.Level == Extensions.Logging.LogLevel.Warning).Select(e => e.Message).ToList();
        Assert.AreEqual(5, warnings.Count, string.Join("\n", warnings));
        Assert.IsTrue(warnings.All(w => w.Contains("column 'Path'", StringComparison.Ordinal)), string.Join("\n", warnings));
        Assert.IsTrue(warnings.Any(w => w.Contains("no-such-file.jpg", StringComparison.Ordinal)), "a missing file is named");
        Assert.IsTrue(warnings.Any(w => w.Contains("truncated.jpg' is truncated", StringComparison.Ordinal)), "a truncated file is named");
    }

    [TestMethod]
    public void ThePrefetchingLoaderGivesLoadImagesImagesInRowOrder()
    {
        var ml = new MLContext(seed: 1);
        var rows = ImageData.GoodRows().Append(new ImageData.Row { Path = "" }).ToArray();
        var data = ImageData.Load(ml, rows);
        var loaded = ml.Transforms.LoadImages("Image", ImageData.Folder, "Path").Fit(data).Transform(data);
        var view = new PrefetchingImageLoadingView(data, "Path", "Image", ImageData.Folder, minShorterSide: null, lookahead: 3);
        using var expected = loaded.GetRowCursor([loaded.Schema["Image"]]);
        using var actual = view.GetRowCursor(view.Schema);
        var expectedImage = expected.GetGetter<MLImage>(loaded.Schema["Image"]);
        var actualImage = actual.GetGetter<MLImage>(view.Schema["Image"]);
        var paths = actual.GetGetter<ReadOnlyMemory<char>>(view.Schema["Path"]);
        // ML.NET's image getters hand out null for an empty path although the type says MLImage.
        MLImage? reference = null, image = null;
        ReadOnlyMemory<char> path = default;
        int count = 0;
        while (expected.MoveNext())
        {
            Assert.IsTrue(actual.MoveNext());
            paths(ref path);
            Assert.AreEqual(rows[count].Path, path.ToString());
            expectedImage(ref reference!);
            for (int read = 0; read < 2; read++) // a second read of the row decodes again
            {
                actualImage(ref image!);
                if (reference is null)
                {
                    Assert.IsNull(image, "an empty path gives no image, as in LoadImages");
                    continue;
                }
                Assert.AreEqual((reference.Width, reference.Height), (image.Width, image.Height), rows[count].Path);
                CollectionAssert.AreEqual(reference.Pixels.ToArray(), image.Pixels.ToArray(), rows[count].Path);
            }
            count++;
        }
        Assert.IsFalse(actual.MoveNext());
        Assert.AreEqual(rows.Length, count);

        // A cursor left early, with decodes still in flight, disposes cleanly.
        using (var early = view.GetRowCursor(view.Schema))
        {
            Assert.IsTrue(early.MoveNext());
        }
    }

    [TestMethod]
    public void LargeJpegsAreDecodedAtTheSmallestDctScaleThatCoversTheResize()
    {
        // libjpeg scales to ceil(side / 8) or ceil(side / 4); the shorter side must stay ≥ the resize size. Skia also
        // offers the other k/8, which are not used (ImageDecoder says why): photo_3 and photo_4 are sizes where one of
        // them would cover the resize.
        (string File, int Resize, int Width, int Height)[] cases =
        [
            (Path.Combine(LargeFolder, "photo_0.jpg"), 256, 504, 378),              // 4032×3024 at 1/8
            (Path.Combine(LargeFolder, "photo_1.jpg"), 256, 384, 512),              // 1536×2048 at 1/4
            (Path.Combine(LargeFolder, "photo_2.jpg"), 256, 500, 375),              // 2000×1500 at 1/4 (1/8 would be 250×188)
            (Path.Combine(LargeFolder, "photo_3.jpg"), 256, 500, 375),              // 500×375: full size (6/8 would cover 256)
            (Path.Combine(LargeFolder, "photo_4.jpg"), 256, 1024, 768),             // 1024×768: full size (1/2 and 3/8 would cover 256)
            (Path.Combine(ImageData.Folder, "round", "round_10.jpg"), 128, 256, 171), // 1024×683 at 1/4 for a 128 resize
            (Path.Combine(ImageData.Folder, "round", "round_10.jpg"), 73, 128, 86),  // at 1/8 for a 64-px network
            (Path.Combine(ImageData.Folder, "round", "round_04.png"), 73, 1024, 683),  // not a JPEG: full size
        ];
        foreach (var (file, resize, width, height) in cases)
        {
            using var image = ImageDecoder.Default.DecodeMLImage(file, resize);
            Assert.AreEqual((width, height), (image.Width, image.Height), $"{Path.GetFileName(file)} for resize {resize}");
            Assert.AreEqual(MLPixelFormat.Bgra32, image.PixelFormat);
            using var full = ImageDecoder.Default.DecodeMLImage(file, minShorterSide: null); // as LoadImages: full size
            using var loaded = MLImage.CreateFromFile(file);
            Assert.AreEqual((loaded.Width, loaded.Height), (full.Width, full.Height), Path.GetFileName(file));
        }
    }

    [TestMethod]
    public void ReducedScaleDecodingStaysAsCloseToTorchvisionAsAFullDecode()
    {
        // Pixels: torchvision's Resize(256, bicubic) + CenterCrop(224) of the full image is the reference; ML.NET's resize
        // after a full decode and after a reduced-scale decode are both compared with it.
        var reference = SafeTensorsFile.Read(Fixtures.Generated("images-large.io.safetensors"));
        var ml = new MLContext(seed: 1);
        var rows = Enumerable.Range(0, 5).Select(i => new ImageData.Row { Path = $"photo_{i}.jpg" }).ToArray();
        var data = ImageData.Load(ml, rows);
        var recipe = PretrainedWeights.RecipeFor(WeightFormat.TorchVision, EfficientNet.Architecture.EfficientNetVariant.B0);
        var resize = RecipeTransforms.ResizeAndExtract(ml.Transforms, recipe, "Image", "Resized", "Pixels");
        var loaded = ml.Transforms.LoadImages("Image", LargeFolder, "Path").Fit(data).Transform(data);
        var full = ImageData.Column(resize.Fit(loaded).Transform(loaded), "Pixels");
        var scaledImages = new PrefetchingImageLoadingView(data, "Path", "Image", LargeFolder, recipe.ResizeSize, lookahead: 2);
        var reduced = ImageData.Column(resize.Fit(scaledImages).Transform(scaledImages), "Pixels");
        for (int i = 0; i < rows.Length; i++)
        {
            var expected = reference[rows[i].Path].Values;
            double fullError = MeanAbsDiffOfCrop(full[i], expected, recipe), reducedError = MeanAbsDiffOfCrop(reduced[i], expected, recipe);
            TestContext.WriteLine($"{rows[i].Path}: mean |Δ| vs torchvision, full decode {fullError:F2}, reduced-scale decode {reducedError:F2} (of 255)");
            // Measured (of 255, full → reduced): 4032×3024 at 1/8 4.11 → 4.02, 1536×2048 at 1/4 0.94 → 0.78, 2000×1500 at
            // 1/4 1.09 → 1.06; 500×375 and 1024×768 are not reduced (at 1/2 the latter was 0.88 → 1.35, which is why 1/2
            // is not used): libjpeg's DCT scaling averages like the antialiased resize torchvision does. The margin only
            // absorbs codec differences.
            Assert.IsTrue(reducedError <= fullError + 0.25, $"{rows[i].Path}: {reducedError:F2} vs {fullError:F2}");
        }

        // Features: the option on the batched path against the standard chain (full decode), both measured against the
        // features of torchvision's pixels.
        using var standard = ml.Transforms.EfficientNetFeaturizer("b0", inputColumnName: "Path", options: Options(folder: LargeFolder)).Fit(data);
        using var fast = ml.Transforms.EfficientNetFeaturizer("b0", inputColumnName: "Path", options: Options(reduced: true, folder: LargeFolder)).Fit(data);
        var fullFeatures = ImageData.Column(standard.Transform(data), "Features");
        var reducedFeatures = ImageData.Column(fast.Transform(data), "Features");
        byte[] onnx = standard.OnnxModel.ToArray();
        for (int i = 0; i < rows.Length; i++)
        {
            var torchvision = OnnxRunner.Run(onnx, ScoringChain.PixelsColumnOf(standard.OutputColumnName), Uncropped(reference[rows[i].Path].Values, recipe), [1, 3, recipe.ResizeSize, recipe.ResizeSize]).Values.Single();
            double fullDistance = RelativeDistance(fullFeatures[i], torchvision), reducedDistance = RelativeDistance(reducedFeatures[i], torchvision);
            double between = RelativeDistance(reducedFeatures[i], fullFeatures[i]);
            TestContext.WriteLine($"{rows[i].Path}: features vs torchvision's pixels, full decode {fullDistance:P2}, reduced {reducedDistance:P2}; reduced vs full {between:P2}");
            string file = Path.Combine(LargeFolder, rows[i].Path);
            using var decoded = ImageDecoder.Default.DecodeMLImage(file, recipe.ResizeSize);
            using var whole = ImageDecoder.Default.DecodeMLImage(file);
            if (decoded.Width < whole.Width)
            {
                // The option moves features by less than ML.NET's resize already differs from torchvision's preprocessing.
                Assert.IsTrue(between < fullDistance, $"{rows[i].Path}: reduced vs full {between:P2}, full vs torchvision {fullDistance:P2}");
                Assert.IsTrue(between > 1e-3, "the option must take effect");
            }
            else Assert.AreEqual(0, between, $"{rows[i].Path} is decoded at full size either way");
        }
    }

    private static double MeanAbsDiffOfCrop(float[] resized, float[] crop, PreprocessingRecipe recipe)
    {
        int s = recipe.ResizeSize, c = recipe.CropSize, o = recipe.CropOffset;
        double total = 0;
        for (int ch = 0; ch < 3; ch++)
            for (int y = 0; y < c; y++)
                for (int x = 0; x < c; x++)
                    total += Math.Abs(resized[(ch * s + y + o) * s + x + o] - crop[(ch * c + y) * c + x]);
        return total / (3.0 * c * c);
    }

    // The crop placed in a resize-size canvas where the model's in-graph centre crop will find it.
    private static float[] Uncropped(float[] crop, PreprocessingRecipe recipe)
    {
        int s = recipe.ResizeSize, c = recipe.CropSize, o = recipe.CropOffset;
        var canvas = new float[3 * s * s];
        for (int ch = 0; ch < 3; ch++)
            for (int y = 0; y < c; y++)
                crop.AsSpan((ch * c + y) * c, c).CopyTo(canvas.AsSpan((ch * s + y + o) * s + o, c));
        return canvas;
    }

    private static double RelativeDistance(float[] actual, float[] expected)
    {
        double diff = 0, norm = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            diff += Math.Pow(actual[i] - expected[i], 2);
            norm += Math.Pow(expected[i], 2);
        }
        return Math.Sqrt(diff / norm);
    }
}
