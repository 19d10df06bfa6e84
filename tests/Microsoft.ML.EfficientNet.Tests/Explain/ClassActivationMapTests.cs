using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Data;
using Microsoft.ML.EfficientNet.Explain;
using Microsoft.ML.EfficientNet.Onnx;
using Microsoft.ML.EfficientNet.Preprocessing;
using Microsoft.ML.EfficientNet.Scoring;
using Microsoft.ML.EfficientNet.Weights;
using SkiaSharp;

namespace Microsoft.ML.EfficientNet.Tests.Explain;

/// <summary>
/// The class activation map is exact for EfficientNet's pool + linear head: its mean over the map equals the class's
/// logit. Checked for every class of a tiny network on real Fashion-MNIST images, with the logits from ONNX Runtime.
/// </summary>
[TestClass]
public sealed class ClassActivationMapTests
{
    public TestContext TestContext { get; set; } = null!;

    private static readonly string[] Labels = ["a", "b", "c", "d", "e"];

    /// <summary>A tiny random network (5 classes, 32 px, 36 px resize) exported with logits, written into <paramref name="folder"/>.</summary>
    internal static (string Model, EfficientNetSpec Spec, EfficientNetCheckpoint Checkpoint) TinyModel(string folder)
    {
        string path = Path.Combine(folder, "tiny.onnx");
        var spec = EfficientNetSpec.Create(EfficientNetVariant.Custom(0.25, 0.25, 32, name: "tiny"), numClasses: Labels.Length);
        var random = RandomWeights.Create(spec, seed: 11);
        // Random weights at this size pool to features near 1e-10: a larger classifier gives logits of a few units.
        var weights = new StateDict(random.Weights.Entries.Select(e => e.Key != spec.Classifier.Name + ".weight" ? e
            : new KeyValuePair<string, WeightTensor>(e.Key, new WeightTensor(e.Value.Shape, e.Value.Values.Select(v => v * 3e10f).ToArray()))));
        var checkpoint = EfficientNetCheckpoint.FromCanonical(spec, weights, random.Source);
        // 36 px resize, 32 px centre crop: the map covers a crop, not the whole image.
        EfficientNetOnnxExporter.Export(checkpoint, path, new OnnxExportOptions { Labels = Labels, Preprocessing = PreprocessingRecipe.Centered(32, 32 / 36.0) });
        return (path, spec, checkpoint);
    }

    [TestMethod]
    public void TheMeanOfEachClassMapEqualsThatClassLogit()
    {
        using var dir = new TemporaryDirectory();
        var (model, spec, checkpoint) = TinyModel(dir.Path);
        FashionMnist.Load(train: false).WriteImageFolder(Path.Combine(dir.Path, "images"), 1, [0, 5, 9]);
        var images = Directory.GetFiles(Path.Combine(dir.Path, "images"), "*.png", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToArray();
        Assert.AreEqual(3, images.Length);

        using var predictor = EfficientNetPredictor.Load(model);
        Assert.AreEqual(36, predictor.Metadata.Preprocessing.ResizeSize);
        foreach (string image in images)
        {
            var prediction = predictor.Predict(image, top: Labels.Length, explain: true);
            var logits = prediction.Logits!;
            double scale = logits.Max(Math.Abs);
            Assert.IsTrue(scale > 0.1, $"logits [{string.Join(", ", logits)}] are too small to tell classes apart");
            for (int c = 0; c < Labels.Length; c++)
            {
                var map = predictor.Explain(image, c);
                Assert.AreEqual(c, map.ClassIndex);
                Assert.AreEqual(Labels[c], map.Label);
                Assert.AreEqual((1, 1), (map.Height, map.Width), "32 px at stride 32");
                // Exact up to float rounding of a sum over the head's channels.
                Assert.AreEqual(logits[c], map.Mean, 1e-5 * scale, $"{image}, class {c}");
                Assert.AreEqual(logits[c], map.Logit, 1e-6 * scale);
            }
            Assert.AreEqual(prediction.ClassIndex, prediction.ActivationMap!.ClassIndex);
        }
    }

    [TestMethod]
    public void AtHigherResolutionTheMapHasOneCellPer32PixelsAndStillAveragesToTheLogit()
    {
        using var dir = new TemporaryDirectory();
        string path = Path.Combine(dir.Path, "tiny96.onnx");
        var spec = EfficientNetSpec.Create(EfficientNetVariant.Custom(0.25, 0.25, 96, name: "tiny96"), numClasses: 3);
        var random = RandomWeights.Create(spec, seed: 5);
        var weights = new StateDict(random.Weights.Entries.Select(e => e.Key != spec.Classifier.Name + ".weight" ? e
            : new KeyValuePair<string, WeightTensor>(e.Key, new WeightTensor(e.Value.Shape, e.Value.Values.Select(v => v * 3e10f).ToArray()))));
        EfficientNetOnnxExporter.Export(EfficientNetCheckpoint.FromCanonical(spec, weights, random.Source), path, new OnnxExportOptions());
        string image = Path.Combine(dir.Path, "photo.png");
        WriteGradient(image, 120, 90);

        using var predictor = EfficientNetPredictor.Load(path);
        var prediction = predictor.Predict(image, explain: true);
        var map = prediction.ActivationMap!;
        Assert.AreEqual((3, 3), (map.Height, map.Width));
        double scale = prediction.Logits!.Max(Math.Abs);
        Assert.AreEqual(prediction.Logits![map.ClassIndex], map.Mean, 1e-5 * scale);
        Assert.AreEqual("0", prediction.Label!.Length > 0 ? predictor.Labels[0] : "", "no labels recorded: class indices");

        var up = map.Upsampled(40, 40);
        float min = float.MaxValue, max = float.MinValue;
        foreach (float v in up) { min = Math.Min(min, v); max = Math.Max(max, v); }
        Assert.IsTrue(min >= 0 && max <= 1, $"[{min}, {max}]");

        // 120×90: shorter side 90 → 109 (resize of the recipe's 109/96) … the network sees the centre 96/109 of the 90 px square.
        var (left, top, side) = ClassActivationMap.SeenRegion(120, 90, predictor.Metadata.Preprocessing);
        Assert.AreEqual(Math.Round(90 * 96.0 / predictor.Metadata.Preprocessing.ResizeSize), side);
        Assert.AreEqual(15 + Math.Round(predictor.Metadata.Preprocessing.CropOffset * 90.0 / predictor.Metadata.Preprocessing.ResizeSize), left, 1);
        Assert.AreEqual(top, (90 - side) / 2, 1);

        using var png = SKBitmap.Decode(map.RenderPng(image));
        Assert.AreEqual((120, 90), (png.Width, png.Height));
    }

    [TestMethod]
    public void EveryCellOfTheMapEqualsTorchvisionsInItsPlace()
    {
        // Reference: scripts/make_parity_fixtures.py runs torchvision's pipeline and B0 on the file, takes the pre-pool
        // map F of model.features and computes Σ_k W[c, k]·F[k, i, j] + b[c] itself. The image's shorter side is 256
        // with even margins, so neither side resamples and both maps cover the same 224 px square.
        using var dir = new TemporaryDirectory();
        string model = Path.Combine(dir.Path, "b0.onnx");
        EfficientNetOnnxExporter.Export(EfficientNetCheckpoint.Load(Fixtures.Generated("b0.torchvision.pth"), EfficientNetVariant.B0), model, new OnnxExportOptions());
        var reference = SafeTensorsFile.Read(Fixtures.Generated("b0.images-oracle.safetensors"));
        using var predictor = EfficientNetPredictor.Load(model);
        foreach (string name in (string[])["exact_340x256.png", "exact_256x340.jpg"])
        {
            string image = Path.Combine(Path.GetDirectoryName(Fixtures.Generated("images-oracle/" + name))!, name);
            var expected = reference[name + "/cam"];
            var classes = reference[name + "/cam_classes"].Values;
            Assert.AreEqual(3, expected.Shape[0]);
            int height = (int)expected.Shape[1], width = (int)expected.Shape[2];
            Assert.AreEqual((7, 7), (height, width), "224 px at stride 32");
            for (int k = 0; k < classes.Length; k++)
            {
                var map = predictor.Explain(image, (int)classes[k]);
                Assert.AreEqual((height, width), (map.Height, map.Width));
                var ours = map.Values;
                var cells = expected.Values.AsSpan(k * height * width, height * width).ToArray();
                double range = cells.Max() - cells.Min(), bound = 1e-3 * range;
                double worst = 0, transposed = 0, mirrored = 0, flipped = 0;
                for (int y = 0; y < height; y++)
                    for (int x = 0; x < width; x++)
                    {
                        float e = cells[y * width + x];
                        worst = Math.Max(worst, Math.Abs(ours[y, x] - e));
                        transposed = Math.Max(transposed, Math.Abs(ours[x, y] - e));
                        mirrored = Math.Max(mirrored, Math.Abs(ours[y, width - 1 - x] - e));
                        flipped = Math.Max(flipped, Math.Abs(ours[height - 1 - y, x] - e));
                    }
                TestContext.WriteLine($"{name}, class {classes[k]}: max |Δ| {worst:E2} over a range of {range:F3}; transposed {transposed:F3}, mirrored {mirrored:F3}, flipped {flipped:F3}");
                Assert.IsTrue(worst <= bound, $"{name}, class {classes[k]}: a cell differs from torchvision's by {worst:E2} (bound {bound:E2}, map range {range:F3})");
                // The scene has no symmetry, so the map has none: a transposed or mirrored map fails by far.
                Assert.IsTrue(Math.Min(transposed, Math.Min(mirrored, flipped)) > 100 * bound, $"{name}, class {classes[k]}: the map is nearly symmetric, the check could not tell");
            }
        }
    }

    [TestMethod]
    public void ThePredictorNamesWhatIsWrong()
    {
        using var dir = new TemporaryDirectory();
        var (model, _, _) = TinyModel(dir.Path);
        using var predictor = EfficientNetPredictor.Load(model);
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => predictor.Explain(model, 9));
        StringAssert.Contains(e.Message, "5 classes");
        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadFromEnumerable(new[] { new Row { Path = "x.png" } });
        var missing = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => predictor.Predict(data, "Image"));
        StringAssert.Contains(missing.Message, "no column 'Image'");
        var bad = predictor.Predict(data, nameof(Row.Path)).Single();
        Assert.IsFalse(bad.Succeeded);
        StringAssert.Contains(bad.Error, "x.png");
        Assert.ThrowsExactly<InvalidDataException>(() => predictor.Predict(model));
    }

    [TestMethod]
    public void AMapSmallerThan3x3WarnsOnceWithItsCellsAndAUsefulResolutionAndA128PxMapDoesNot()
    {
        using var dir = new TemporaryDirectory();
        var (model, _, _) = TinyModel(dir.Path);
        FashionMnist.Load(train: false).WriteImageFolder(Path.Combine(dir.Path, "images"), 2, [0, 5]);
        var images = Directory.GetFiles(Path.Combine(dir.Path, "images"), "*.png", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToArray();

        var log = new ListLogger();
        using (var predictor = EfficientNetPredictor.Load(model, new EfficientNetPredictorOptions { Logger = log }))
        {
            var maps = predictor.Predict(images, explain: true).Select(p => p.ActivationMap!).ToList();
            maps.Add(predictor.Explain(images[0], 3));
            Assert.AreEqual(5, maps.Count);
            Assert.IsTrue(maps.All(m => m.Warning is not null));
            var warnings = log.Entries.Where(e => e.Level == Microsoft.Extensions.Logging.LogLevel.Warning).Select(e => e.Message).ToList();
            Assert.AreEqual(1, warnings.Count, string.Join("\n", warnings));
            TestContext.WriteLine(warnings[0]);
            StringAssert.Contains(warnings[0], "1×1 cell:");
            StringAssert.Contains(warnings[0], "32 px input ÷ 32");
            StringAssert.Contains(warnings[0], "96 px or more");
            Assert.AreEqual(maps[0].Warning, warnings[0]);
        }
        StringAssert.Contains(ClassActivationMap.CoarseMapWarning(2, 2, 64), "2×2 cells");

        // 128 px: 4×4 cells, nothing to warn about.
        string path = Path.Combine(dir.Path, "tiny128.onnx");
        var spec = EfficientNetSpec.Create(EfficientNetVariant.Custom(0.25, 0.25, 128, name: "tiny128"), numClasses: 3);
        EfficientNetOnnxExporter.Export(RandomWeights.Create(spec, seed: 2), path, new OnnxExportOptions());
        var quiet = new ListLogger();
        using var fine = EfficientNetPredictor.Load(path, new EfficientNetPredictorOptions { Logger = quiet });
        var map = fine.Predict(images[0], explain: true).ActivationMap!;
        Assert.AreEqual((4, 4), (map.Height, map.Width));
        Assert.IsNull(map.Warning);
        Assert.AreEqual(0, quiet.Entries.Count(e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Warning));
    }

    [TestMethod]
    public void CaptionsFitA28PixelImageAWideOneAndAPhoto()
    {
        foreach (var (label, width, height) in new[] { ("T-shirt/top", 28, 28), ("Ankle boot", 600, 40), ("Ankle boot", 40, 600), ("a very long class name indeed", 64, 48), ("Bag", 640, 480) })
        {
            var caption = ClassActivationMap.Caption(label, 0.873f, width, height);
            using var paint = new SKPaint { TextSize = caption.FontSize, Typeface = Drawing.ChartDrawing.Regular };
            float measured = caption.Lines.Max(l => paint.MeasureText(l));
            string what = $"'{label}' on {width}×{height}: {string.Join(" / ", caption.Lines)} at {caption.FontSize:F1} px";
            TestContext.WriteLine(what);
            Assert.AreEqual(measured, caption.TextWidth, 1e-3, what);
            Assert.IsTrue(measured + 2 * caption.Padding <= width, $"{what}: {measured} + padding wider than {width}");
            Assert.IsTrue(caption.Box.Right <= width && caption.Box.Bottom <= height, $"{what}: box {caption.Box}");
            string score = 0.873f.ToString("P1", System.Globalization.CultureInfo.InvariantCulture);
            Assert.AreEqual(label, caption.Lines[0].Split(" " + score)[0], what);
            Assert.IsTrue(caption.Lines[^1].EndsWith(score, StringComparison.Ordinal), what);
        }
        // A photo keeps the caption on one line at its usual size (a 14th of the shorter side).
        var photo = ClassActivationMap.Caption("Bag", 0.873f, 640, 480);
        Assert.AreEqual(1, photo.Lines.Count);
        Assert.AreEqual(480 / 14f, photo.FontSize, 1e-4);
        // A 28 px image splits label and score to keep the text as large as it can be.
        Assert.AreEqual(2, ClassActivationMap.Caption("T-shirt/top", 0.873f, 28, 28).Lines.Count);

        // Rendered, the PNG keeps the image's size.
        using var dir = new TemporaryDirectory();
        var (model, _, _) = TinyModel(dir.Path);
        string image = Path.Combine(dir.Path, "tiny.png");
        WriteGradient(image, 28, 28);
        using var predictor = EfficientNetPredictor.Load(model);
        using var png = SKBitmap.Decode(predictor.Explain(image).RenderPng(image));
        Assert.AreEqual((28, 28), (png.Width, png.Height));
    }

    private sealed class Row
    {
        public string Path { get; set; } = "";
    }

    private static void WriteGradient(string path, int width, int height)
    {
        using var bitmap = new SKBitmap(width, height);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++) bitmap.SetPixel(x, y, new SKColor((byte)(2 * x), (byte)(2 * y), (byte)(x ^ y)));
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(path, data.ToArray());
    }
}
