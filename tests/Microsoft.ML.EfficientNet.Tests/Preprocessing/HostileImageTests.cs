using Microsoft.Extensions.Logging;
using Microsoft.ML.Data;
using Microsoft.ML.EfficientNet.Data;
using Microsoft.ML.EfficientNet.Preprocessing;
using Microsoft.ML.EfficientNet.Scoring;
using SkiaSharp;
using EfficientNet.Training.Data;

namespace Microsoft.ML.EfficientNet.Tests.Preprocessing;

/// <summary>
/// Damaged and unusual image files (<see cref="TestImages"/>) through every path that decodes: <see cref="ImageDecoder"/>
/// itself, the featurizer's path column (NaN row or error naming the file), an MLImage column (what ML.NET's LoadImages
/// decides), and the trainer's loaders (<see cref="TrainingBatches"/>, <see cref="EvaluationBatches"/>: skipped with one
/// warning naming the file). 32 px keeps it quick.
/// </summary>
[TestClass]
public sealed class HostileImageTests
{
    public TestContext TestContext { get; set; } = null!;

    private static EfficientNetFeaturizerOptions Options(ILogger? logger = null) => new()
    {
        WeightsPath = Fixtures.Generated("b0.torchvision.pth"), // real weights: random ones give features near 1e-14
        Resolution = 32,
        BatchSize = 4,
        Logger = logger,
    };

    private sealed class PathRow
    {
        public string Path { get; set; } = "";
    }

    private static IDataView PathRows(MLContext ml, IEnumerable<string> paths) => ml.Data.LoadFromEnumerable(paths.Select(p => new PathRow { Path = p }).ToList());

    private static List<string> Warnings(ListLogger logger) =>
        logger.Entries.Where(e => e.Level == LogLevel.Warning).Select(e => e.Message).ToList();

    [TestMethod]
    public void TheDecoderRefusesDamagedFilesNamingThemAndDecodesTheRestAsLoadImagesDoes()
    {
        using var dir = new TemporaryDirectory();
        var paths = TestImages.WriteAll(dir.Path);
        for (int i = 0; i < paths.Length; i++)
        {
            var c = TestImages.Cases[i];
            if (c.Ours == Outcome.Refused)
            {
                var error = Assert.ThrowsExactly<InvalidDataException>(() => ImageDecoder.Default.DecodeMLImage(paths[i]), c.Name);
                StringAssert.Contains(error.Message, paths[i], c.Name);
                StringAssert.Contains(error.Message, c.Reason!, c.Name);
                Assert.ThrowsExactly<InvalidDataException>(() => ImageDecoder.Default.DecodeRgb(paths[i]), c.Name);
                TestContext.WriteLine($"{c.Name}: {error.Message}");
                continue;
            }
            using var ours = ImageDecoder.Default.DecodeMLImage(paths[i]);
            using var theirs = MLImage.CreateFromFile(paths[i]);
            Assert.AreEqual((theirs.Width, theirs.Height, theirs.PixelFormat), (ours.Width, ours.Height, ours.PixelFormat), c.Name);
            CollectionAssert.AreEqual(theirs.Pixels.ToArray(), ours.Pixels.ToArray(), $"{c.Name}: the same pixels as LoadImages");
            Assert.AreEqual(paths[i], ours.Tag, "the path is the tag, as LoadImages sets it");
            var rgb = ImageDecoder.Default.DecodeRgb(paths[i]);
            Assert.AreEqual((ours.Width, ours.Height), (rgb.Width, rgb.Height), c.Name);
        }
        // The animated GIF gives its first frame.
        var gif = ImageDecoder.Default.DecodeRgb(Path.Combine(dir.Path, "animated.gif"));
        Assert.AreEqual(TestImages.FirstFrameColour, (gif.Pixels[0], gif.Pixels[1], gif.Pixels[2]));
        Assert.IsTrue(gif.Pixels.Chunk(3).All(p => (p[0], p[1], p[2]) == TestImages.FirstFrameColour));
        // The pixel limit is the decoder's setting.
        var strict = new ImageDecoder(maxPixels: 9999);
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => strict.DecodeRgb(Path.Combine(dir.Path, "wide-10000x1.png"))).Message,
            "claims 10000×1 pixels (10,000), more than the limit of 9,999");
    }

    [TestMethod]
    public void EveryCaseThroughThePathColumnIsANaNRowOrAnErrorNamingTheFile()
    {
        using var dir = new TemporaryDirectory();
        var paths = TestImages.WriteAll(dir.Path);
        var ml = new MLContext(seed: 1);
        var data = PathRows(ml, paths);
        var logger = new ListLogger();
        using var featurizer = ml.Transforms.EfficientNetFeaturizer("b0", inputColumnName: "Path", options: Options(logger)).Fit(data);
        var features = ImageData.Column(featurizer.Transform(data), "Features");
        Assert.AreEqual(paths.Length, features.Count, "every row is scored");
        var warnings = Warnings(logger);
        for (int i = 0; i < paths.Length; i++)
        {
            var c = TestImages.Cases[i];
            bool refused = c.Ours == Outcome.Refused;
            Assert.AreEqual(refused, features[i].All(float.IsNaN), c.Name);
            if (!refused) Assert.IsTrue(features[i].All(float.IsFinite), c.Name);
            int named = warnings.Count(w => w.Contains(paths[i], StringComparison.Ordinal) && w.Contains("features are NaN", StringComparison.Ordinal));
            Assert.AreEqual(refused ? 1 : 0, named, $"{c.Name}: one warning naming the file\n{string.Join("\n", warnings)}");
        }
        Assert.AreEqual(1, warnings.Count(w => w.Contains("EXIF orientation", StringComparison.Ordinal)), "one orientation warning per pass");
        Assert.AreEqual(TestImages.Cases.Count(c => c.Ours == Outcome.Refused) + 1, warnings.Count, string.Join("\n", warnings));

        // Under Throw, each refused file ends the enumeration with an error naming it.
        var options = Options();
        options.UnreadableImages = UnreadableImageHandling.Throw;
        using var strict = ml.Transforms.EfficientNetFeaturizer("b0", inputColumnName: "Path", options: options).Fit(data);
        for (int i = 0; i < paths.Length; i++)
        {
            var one = PathRows(ml, [paths[TestImages.Cases.ToList().FindIndex(c => c.Ours == Outcome.Decodes)], paths[i]]);
            if (TestImages.Cases[i].Ours == Outcome.Decodes)
            {
                Assert.AreEqual(2, ImageData.Column(strict.Transform(one), "Features").Count);
                continue;
            }
            var error = Assert.ThrowsExactly<InvalidDataException>(() => ImageData.Column(strict.Transform(one), "Features"), TestImages.Cases[i].Name);
            StringAssert.Contains(error.Message, "Row 1: the image in column 'Path' could not be read");
            StringAssert.Contains(error.Message, paths[i]);
        }
    }

    [TestMethod]
    public void EveryCaseThroughAnImageColumnIsWhatLoadImagesDecides()
    {
        using var dir = new TemporaryDirectory();
        var all = TestImages.WriteAll(dir.Path);
        var cases = TestImages.Cases.Select((c, i) => (Case: c, Path: all[i])).Where(c => c.Case.LoadImages is not null).ToArray();
        var ml = new MLContext(seed: 1);
        var data = PathRows(ml, cases.Select(c => c.Path));
        var images = ml.Transforms.LoadImages("Image", null, "Path").Fit(data).Transform(data);
        var logger = new ListLogger();
        using var featurizer = ml.Transforms.EfficientNetFeaturizer("b0", options: Options(logger)).Fit(images);
        var features = ImageData.Column(featurizer.Transform(images), "Features");
        Assert.AreEqual(cases.Length, features.Count, "every row is scored");
        for (int i = 0; i < cases.Length; i++)
        {
            bool refused = cases[i].Case.LoadImages == Outcome.Refused;
            TestContext.WriteLine($"{cases[i].Case.Name}: {(features[i].All(float.IsNaN) ? "NaN" : "features")}");
            Assert.AreEqual(refused, features[i].All(float.IsNaN), cases[i].Case.Name);
            if (!refused) Assert.IsTrue(features[i].All(float.IsFinite), cases[i].Case.Name);
        }
        // LoadImages has no orientation to report: the image column carries none.
        Assert.IsFalse(Warnings(logger).Any(w => w.Contains("EXIF", StringComparison.Ordinal)));
        Assert.AreEqual(cases.Count(c => c.Case.LoadImages == Outcome.Refused), Warnings(logger).Count);
    }

    [TestMethod]
    public void EveryCaseThroughTheTrainersLoadersIsSkippedWithOneWarningNamingIt()
    {
        using var dir = new TemporaryDirectory();
        var paths = TestImages.WriteAll(dir.Path);
        var images = new FileImageSet(paths, paths.Select(_ => 0), ["any"]);
        int good = TestImages.Cases.Count(c => c.Ours == Outcome.Decodes);
        var augmentation = new TrainAugmentation { OutputSize = 32, Mean = PreprocessingRecipe.ImageNetMean, Std = PreprocessingRecipe.ImageNetStd };

        var logger = new ListLogger();
        var decoder = new ImageDecoder(logger: logger);
        var batches = new TrainingBatches(images, augmentation, batchSize: paths.Length, seed: 3, workers: 2, logger: logger, decoder: decoder);
        for (int epoch = 0; epoch < 2; epoch++)
        {
            var batch = batches.Epoch(epoch).Single();
            Assert.AreEqual(good, batch.Count, "the batch holds the decodable images");
            Assert.IsTrue(batch.Pixels.AsSpan(0, batch.Count * 32 * 32 * 3).ToArray().All(float.IsFinite));
        }
        var evaluated = new EvaluationBatches(images, PreprocessingRecipe.Centered(32), batchSize: 5, logger, decoder: decoder).All().Sum(b => b.Count);
        Assert.AreEqual(good, evaluated, "evaluation skips the same images");

        var warnings = Warnings(logger);
        for (int i = 0; i < paths.Length; i++)
        {
            var c = TestImages.Cases[i];
            int named = warnings.Count(w => w.StartsWith($"Skipped {paths[i]}: ", StringComparison.Ordinal));
            // Once per run: not again in the second epoch, nor by evaluation with the run's decoder.
            Assert.AreEqual(c.Ours == Outcome.Refused ? 1 : 0, named, $"{c.Name}\n{string.Join("\n", warnings)}");
        }
        Assert.AreEqual(1, warnings.Count(w => w.Contains("EXIF orientation", StringComparison.Ordinal)), "one orientation warning per run");
    }

    /// <summary>
    /// Bytes the kernel can commit to one allocation (RAM and swap under the default heuristic overcommit, the commit limit
    /// under strict accounting), or null when it commits anything (overcommit always) or cannot be read.
    /// </summary>
    private static long? CommittableBytes()
    {
        try
        {
            string mode = File.ReadAllText("/proc/sys/vm/overcommit_memory").Trim();
            var info = File.ReadAllLines("/proc/meminfo").Select(l => l.Split(':', 2)).ToDictionary(p => p[0], p => 1024 * long.Parse(p[1].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture));
            return mode switch
            {
                "0" => info["MemTotal"] + info["SwapTotal"],
                "2" => info["CommitLimit"],
                _ => null,
            };
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or KeyNotFoundException or FormatException)
        {
            return null;
        }
    }

    [TestMethod]
    public void AHugeHeaderThroughLoadImagesIsANaNRowWhenItsBitmapCannotBeAllocated()
    {
        // LoadImages (MLImage.CreateFromFile, SKBitmap.Decode) allocates the bitmap at the header's size before it decodes:
        // 100000 × 100000 × 4 bytes. Where the kernel cannot commit that much, the allocation fails at once and the
        // getter throws; where it can, LoadImages would take 40 GB, so the case is not run there.
        const long Claimed = 100_000L * 100_000 * 4;
        if (CommittableBytes() is not { } committable || committable >= Claimed)
        {
            Assert.Inconclusive($"This machine can commit {(CommittableBytes() is { } c ? $"{c:N0} bytes" : "any size")}: LoadImages would allocate the 40 GB bitmap.");
            return;
        }
        using var dir = new TemporaryDirectory();
        var paths = TestImages.WriteAll(dir.Path);
        string huge = paths[TestImages.Cases.ToList().FindIndex(c => c.Name == "huge-header.png")];
        string good = paths[TestImages.Cases.ToList().FindIndex(c => c.Name == "rgba.png")];
        var ml = new MLContext(seed: 1);
        var data = PathRows(ml, [huge, good]);
        var images = ml.Transforms.LoadImages("Image", null, "Path").Fit(data).Transform(data);
        var logger = new ListLogger();
        using var featurizer = ml.Transforms.EfficientNetFeaturizer("b0", options: Options(logger)).Fit(images);
        long before = Environment.WorkingSet;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var features = ImageData.Column(featurizer.Transform(images), "Features");
        long grown = Environment.WorkingSet - before;
        TestContext.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s, working set {grown / 1e6:+0;-0} MB; warnings:\n{string.Join("\n", Warnings(logger))}");
        Assert.AreEqual(2, features.Count, "every row is scored");
        Assert.IsTrue(features[0].All(float.IsNaN), "the huge header is a NaN row");
        Assert.IsTrue(features[1].All(float.IsFinite), "the next row is scored");
        var warnings = Warnings(logger);
        Assert.AreEqual(1, warnings.Count, string.Join("\n", warnings));
        StringAssert.Contains(warnings[0], "features are NaN");
        StringAssert.Contains(warnings[0], "Unable to allocate pixels", "LoadImages's own reason: the bitmap could not be allocated");
        Assert.IsTrue(grown < 1_000_000_000, $"the working set grew by {grown:N0} bytes");
    }

    [TestMethod]
    public void ACmykJpegDecodesToItsAdobeInvertedColoursOnEveryPath()
    {
        using var dir = new TemporaryDirectory();
        // 48×32: under the featurizer's 36 px resize at 32 px, so the path column decodes it at full size as LoadImages does.
        const int BlocksX = 6, BlocksY = 4;
        string cmyk = Path.Combine(dir.Path, "cmyk.jpg");
        File.WriteAllBytes(cmyk, TestImages.CmykJpeg(BlocksX, BlocksY, TestImages.CmykBlock));

        // The decoder: Adobe-inverted CMYK, as Photoshop stores it, R = C·K/255 (and G from M, B from Y); equal to LoadImages.
        var rgb = ImageDecoder.Default.DecodeRgb(cmyk);
        Assert.AreEqual((8 * BlocksX, 8 * BlocksY), (rgb.Width, rgb.Height));
        int worst = 0;
        for (int y = 0; y < rgb.Height; y++)
            for (int x = 0; x < rgb.Width; x++)
            {
                var (c, m, yellow, k) = TestImages.CmykBlock(x / 8, y / 8);
                int at = 3 * (y * rgb.Width + x);
                worst = Math.Max(worst, new[] { c, m, yellow }.Select((ink, i) => Math.Abs(rgb.Pixels[at + i] - ink * k / 255.0)).Select(d => (int)Math.Ceiling(d - 0.5)).Max());
            }
        TestContext.WriteLine($"largest difference from C·K/255: {worst}");
        Assert.IsTrue(worst <= 1, $"pixels differ from the Adobe-inverted colours by up to {worst}");
        using (var ours = ImageDecoder.Default.DecodeMLImage(cmyk))
        using (var theirs = MLImage.CreateFromFile(cmyk))
            CollectionAssert.AreEqual(theirs.Pixels.ToArray(), ours.Pixels.ToArray(), "the same pixels as LoadImages");

        // The same pixels, saved losslessly as RGB: every path must see the CMYK file as this PNG.
        var bitmap = new SKBitmap(new SKImageInfo(rgb.Width, rgb.Height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var rgba = rgb.Pixels.Chunk(3).SelectMany(p => new[] { p[0], p[1], p[2], (byte)255 }).ToArray();
        System.Runtime.InteropServices.Marshal.Copy(rgba, 0, bitmap.GetPixels(), rgba.Length);
        string png = Path.Combine(dir.Path, "same-pixels.png");
        File.WriteAllBytes(png, TestImages.Png(bitmap));
        CollectionAssert.AreEqual(RgbImage.Decode(png).Pixels, rgb.Pixels, "the PNG holds the decoded pixels");

        // Featurizer: the path column and an MLImage column (LoadImages) give the PNG's features, bit for bit, and no warning.
        var ml = new MLContext(seed: 1);
        var logger = new ListLogger();
        var data = PathRows(ml, [cmyk, png]);
        using var featurizer = ml.Transforms.EfficientNetFeaturizer("b0", inputColumnName: "Path", options: Options(logger)).Fit(data);
        var byPath = ImageData.Column(featurizer.Transform(data), "Features");
        Assert.IsTrue(byPath[0].All(float.IsFinite));
        CollectionAssert.AreEqual(byPath[1], byPath[0], "path column: CMYK JPEG = its pixels as PNG");
        var images = ml.Transforms.LoadImages("Image", null, "Path").Fit(data).Transform(data);
        using var imageFeaturizer = ml.Transforms.EfficientNetFeaturizer("b0", options: Options(logger)).Fit(images);
        var byImage = ImageData.Column(imageFeaturizer.Transform(images), "Features");
        CollectionAssert.AreEqual(byImage[1], byImage[0], "MLImage column: CMYK JPEG = its pixels as PNG");
        Assert.IsTrue(Parity.MaxAbsDiff(byPath[0], byImage[0]) <= 1e-5, "path column = LoadImages");
        Assert.AreEqual(0, Warnings(logger).Count, string.Join("\n", Warnings(logger)));

        // The trainer's loader: both decode, nothing is skipped.
        var augmentation = new TrainAugmentation { OutputSize = 32, Mean = PreprocessingRecipe.ImageNetMean, Std = PreprocessingRecipe.ImageNetStd };
        var batches = new TrainingBatches(new FileImageSet([cmyk, png], [0, 1], ["cmyk", "png"]), augmentation, batchSize: 2, seed: 3, workers: 1, logger: logger,
            decoder: new ImageDecoder(logger: logger));
        Assert.AreEqual(2, batches.Epoch(0).Single().Count, "the batch holds both images");
        Assert.AreEqual(0, Warnings(logger).Count, string.Join("\n", Warnings(logger)));

        // predict (EfficientNetPredictor): scored, with the PNG's logits.
        var (model, _, _) = Explain.ClassActivationMapTests.TinyModel(dir.Path);
        using var predictor = EfficientNetPredictor.Load(model);
        var predictions = predictor.Predict([cmyk, png]).ToList();
        Assert.IsTrue(predictions[0].Succeeded, predictions[0].Error);
        CollectionAssert.AreEqual(predictions[1].Logits!.ToArray(), predictions[0].Logits!.ToArray(), "predict: CMYK JPEG = its pixels as PNG");
    }

    [TestMethod]
    public void ExifOrientationIsAppliedWhenAskedAndWarnedOnceWhenNot()
    {
        using var dir = new TemporaryDirectory();
        var jpeg = TestImages.Jpeg(TestImages.Pattern(40, 24));
        string plain = Path.Combine(dir.Path, "plain.jpg");
        File.WriteAllBytes(plain, jpeg);
        using var stored = MLImage.CreateFromFile(plain);
        var storedRgb = RgbImage.Decode(plain);
        var oriented = new List<string>();
        var rotatedByHand = new List<string>();
        for (int orientation = 2; orientation <= 8; orientation++)
        {
            string path = Path.Combine(dir.Path, $"exif-{orientation}.jpg");
            File.WriteAllBytes(path, TestImages.WithExifOrientation(jpeg, orientation));
            oriented.Add(path);
            // The stored pixels turned upright by coordinates, saved losslessly.
            var (bgra, w, h) = TestImages.Upright(stored.Pixels.ToArray(), stored.Width, stored.Height, 4, orientation);
            var bitmap = new SKBitmap(new SKImageInfo(w, h, SKColorType.Bgra8888, SKAlphaType.Opaque));
            System.Runtime.InteropServices.Marshal.Copy(bgra, 0, bitmap.GetPixels(), bgra.Length);
            string upright = Path.Combine(dir.Path, $"upright-{orientation}.png");
            File.WriteAllBytes(upright, TestImages.Png(bitmap));
            rotatedByHand.Add(upright);

            // The trainer's decoding, byte for byte.
            var expected = TestImages.Upright(storedRgb.Pixels, storedRgb.Width, storedRgb.Height, 3, orientation);
            var applied = new ImageDecoder(applyExifOrientation: true).DecodeRgb(path);
            Assert.AreEqual((expected.Width, expected.Height), (applied.Width, applied.Height), $"orientation {orientation}");
            CollectionAssert.AreEqual(expected.Pixels, applied.Pixels, $"orientation {orientation}: trainer decoding");
            CollectionAssert.AreEqual(storedRgb.Pixels, RgbImage.Decode(path).Pixels, $"orientation {orientation}: off, as stored");
            using var appliedImage = new ImageDecoder(applyExifOrientation: true).DecodeMLImage(path);
            CollectionAssert.AreEqual(bgra, appliedImage.Pixels.ToArray(), $"orientation {orientation}: featurizer decoding");
        }

        var ml = new MLContext(seed: 1);
        var logger = new ListLogger();
        var options = Options(logger);
        options.ApplyExifOrientation = true;
        var data = PathRows(ml, oriented);
        using var applying = ml.Transforms.EfficientNetFeaturizer("b0", inputColumnName: "Path", options: options).Fit(data);
        var withOrientation = ImageData.Column(applying.Transform(data), "Features");
        var byHand = ImageData.Column(applying.Transform(PathRows(ml, rotatedByHand)), "Features");
        Assert.AreEqual(0, Warnings(logger).Count, "nothing to warn about when orientation is applied");

        var off = Options(logger);
        using var ignoring = ml.Transforms.EfficientNetFeaturizer("b0", inputColumnName: "Path", options: off).Fit(data);
        var withoutOrientation = ImageData.Column(ignoring.Transform(data), "Features");
        var unrotated = ImageData.Column(ignoring.Transform(PathRows(ml, oriented.Select(_ => plain))), "Features");
        var savedChain = ImageData.Column(ignoring.StandardChain.Transform(data), "Features");
        for (int i = 0; i < oriented.Count; i++)
        {
            CollectionAssert.AreEqual(byHand[i], withOrientation[i], $"orientation {i + 2}: applied = rotated by hand");
            CollectionAssert.AreEqual(unrotated[i], withoutOrientation[i], $"orientation {i + 2}: off = the stored image");
            Assert.IsTrue(Parity.MaxAbsDiff(savedChain[i], withoutOrientation[i]) <= 1e-5, "off = the saved chain (LoadImages ignores orientation)");
            double change = Parity.MaxAbsDiff(withOrientation[i], withoutOrientation[i]);
            TestContext.WriteLine($"orientation {i + 2}: features change by up to {change:E2} (largest feature {withoutOrientation[i].Max(Math.Abs):E2})");
            Assert.IsTrue(change > 1e-3 * withoutOrientation[i].Max(Math.Abs), $"orientation {i + 2} changes the features");
        }
        var warnings = Warnings(logger);
        Assert.AreEqual(1, warnings.Count, string.Join("\n", warnings));
        StringAssert.Contains(warnings[0], "exif-");
        StringAssert.Contains(warnings[0], "is not applied");
    }
}
