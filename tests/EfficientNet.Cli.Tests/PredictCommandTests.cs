using System.Globalization;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Data;
using Microsoft.ML.EfficientNet.Onnx;
using Microsoft.ML.EfficientNet.Weights;
using Microsoft.ML.Transforms.Image;
using Parquet.Schema;
using Parquet.Serialization;
using SkiaSharp;

namespace EfficientNet.Cli.Tests;

/// <summary>
/// <c>efficientnet predict</c> and <c>featurize</c> as processes: the CSV/JSON/Parquet contracts,
/// per-row errors that leave the other images scored, and numbers checked against ONNX Runtime and the featurizer run
/// independently in this process. Real Fashion-MNIST images; tiny networks at 32 px to keep the processes short.
/// </summary>
[TestClass]
public sealed class PredictCommandTests
{
    private static readonly string[] Labels = ["cat", "dog", "bird", "fish"];

    /// <summary>A tiny classifier (width 0.25, depth 0.25, 32 px crop of a 36 px resize) with seeded random weights and labels in its metadata.</summary>
    internal static string TinyModel(string folder, string[]? labels = null)
    {
        labels ??= Labels;
        Directory.CreateDirectory(folder);
        string path = Path.Combine(folder, "model.onnx");
        var spec = EfficientNetSpec.Create(EfficientNetVariant.Custom(0.25, 0.25, 32, name: "tiny"), numClasses: labels.Length);
        var random = RandomWeights.Create(spec, seed: 7);
        // Random weights at this size give pooled features near 1e-10; a larger classifier spreads the logits over
        // a few units, so the classes are told apart by far more than float rounding.
        var weights = new StateDict(random.Weights.Entries.Select(e => e.Key != spec.Classifier.Name + ".weight" ? e
            : new KeyValuePair<string, WeightTensor>(e.Key, new WeightTensor(e.Value.Shape, e.Value.Values.Select(v => v * 3e10f).ToArray()))));
        var checkpoint = EfficientNetCheckpoint.FromCanonical(spec, weights, random.Source);
        EfficientNetOnnxExporter.Export(checkpoint, path, new OnnxExportOptions { Outputs = OnnxOutputs.LogitsAndFeatures, Labels = labels });
        return path;
    }

    /// <summary>Four Fashion-MNIST PNGs (28×28), two non-square PNGs with the same file name in different folders, and a file that is not an image.</summary>
    private static string Images(string root)
    {
        string images = Path.Combine(root, "images");
        FashionMnist.Load(train: false).WriteImageFolder(images, 2, [1, 8]);
        WriteWide(Path.Combine(images, "wide.png"), 64, 40);
        Directory.CreateDirectory(Path.Combine(images, "more"));
        WriteWide(Path.Combine(images, "more", "wide.png"), 50, 70);
        File.WriteAllBytes(Path.Combine(images, "broken.jpg"), [0xFF, 0xD8, 0xFF, 0x00, 1, 2, 3, 4, 5]);
        return images;
    }

    private static void WriteWide(string path, int width, int height)
    {
        using var bitmap = new SKBitmap(width, height);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++) bitmap.SetPixel(x, y, new SKColor((byte)(4 * x), (byte)(3 * y), (byte)((x * y) % 256)));
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(path, data.ToArray());
    }

    /// <summary>The model's logits for one image, computed here without the predictor: ML.NET's LoadImages, ResizeImages (IsoCrop) and ExtractPixels, then ONNX Runtime.</summary>
    private static float[] IndependentLogits(string model, string image)
    {
        var metadata = OnnxModelMetadata.Read(model);
        int size = metadata.InputSize;
        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadFromEnumerable(new[] { new PathRow { Path = image } });
        var pixels = ml.Transforms.LoadImages("Image", null, "Path")
            .Append(ml.Transforms.ResizeImages("Resized", size, size, "Image", ImageResizingEstimator.ResizingKind.IsoCrop, ImageResizingEstimator.Anchor.Center))
            .Append(ml.Transforms.ExtractPixels("Pixels", "Resized", interleavePixelColors: false))
            .Fit(data).Transform(data);
        float[] input = pixels.GetColumn<VBuffer<float>>("Pixels").Single().DenseValues().ToArray();
        return OnnxRunner.Run(File.ReadAllBytes(model), OnnxExportOptions.ImageInputName, input, [1, 3, size, size])[OnnxExportOptions.LogitsOutputName];
    }

    private sealed class PathRow
    {
        public string Path { get; set; } = "";
    }

    [TestMethod]
    public void PredictWritesTopKAsJsonAndCsvKeepsBadFilesAsErrorRowsAndExplainsEachImage()
    {
        using var dir = new TemporaryDirectory();
        string model = TinyModel(Path.Combine(dir.Path, "run"));
        string images = Images(dir.Path), json = Path.Combine(dir.Path, "predictions.json"), cams = Path.Combine(dir.Path, "cams");
        var files = Directory.GetFiles(images, "*.*", SearchOption.AllDirectories);
        Assert.AreEqual(7, files.Length);

        var run = CliRunner.Run("predict", "--model", model, "--images", images, "--top", "3", "--output", json, "--explain", cams);
        // 2: the run completed but one image could not be predicted.
        Assert.AreEqual(2, run.ExitCode, run.Output + run.Error);
        StringAssert.Contains(run.Output, "6 of 7 images predicted");

        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var rows = doc.RootElement.EnumerateArray().ToList();
        Assert.AreEqual(7, rows.Count);
        var camNames = new HashSet<string>();
        foreach (var row in rows)
        {
            string path = row.GetProperty("path").GetString()!;
            if (path.EndsWith("broken.jpg", StringComparison.Ordinal))
            {
                StringAssert.Contains(row.GetProperty("error").GetString(), "broken.jpg");
                Assert.AreEqual(JsonValueKind.Null, row.GetProperty("label").ValueKind);
                Assert.AreEqual(JsonValueKind.Null, row.GetProperty("score").ValueKind);
                Assert.AreEqual(0, row.GetProperty("top").GetArrayLength());
                Assert.AreEqual(JsonValueKind.Null, row.GetProperty("cam").ValueKind);
                continue;
            }
            Assert.AreEqual(JsonValueKind.Null, row.GetProperty("error").ValueKind, path);
            var top = row.GetProperty("top").EnumerateArray().Select(t => (Label: t.GetProperty("label").GetString()!, Score: t.GetProperty("score").GetSingle())).ToList();
            Assert.AreEqual(3, top.Count);
            for (int i = 1; i < top.Count; i++) Assert.IsTrue(top[i - 1].Score >= top[i].Score, $"{path}: top-k not sorted");
            Assert.IsTrue(top.Sum(t => t.Score) <= 1 + 1e-5, $"{path}: top-k sums to {top.Sum(t => t.Score)}");
            Assert.AreEqual(top[0].Label, row.GetProperty("label").GetString());
            Assert.AreEqual(top[0].Score, row.GetProperty("score").GetSingle());

            var logits = IndependentLogits(model, path);
            int argmax = Array.IndexOf(logits, logits.Max());
            Assert.AreEqual(Labels[argmax], top[0].Label, $"{path}: logits [{string.Join(", ", logits)}]");
            double sum = logits.Sum(l => Math.Exp(l - logits.Max()));
            Assert.AreEqual(1 / sum, top[0].Score, 1e-5, path);

            string cam = row.GetProperty("cam").GetString()!;
            Assert.IsTrue(camNames.Add(Path.GetFileName(cam)), $"{cam} written twice");
            using var original = SKBitmap.Decode(path);
            using var png = SKBitmap.Decode(cam);
            Assert.IsNotNull(png, $"{cam} decodes");
            Assert.AreEqual((original.Width, original.Height), (png.Width, png.Height), cam);
        }
        CollectionAssert.IsSubsetOf(new[] { "wide.cam.png", "wide-2.cam.png" }, camNames.ToList());
        Assert.AreEqual(6, Directory.GetFiles(cams, "*.png").Length);

        // CSV, from the run folder, top 2.
        string csv = Path.Combine(dir.Path, "predictions.csv");
        var second = CliRunner.Run("predict", "--model", Path.GetDirectoryName(model)!, "--images", images, "--top", "2", "--output", csv);
        Assert.AreEqual(2, second.ExitCode, second.Output + second.Error);
        var lines = File.ReadAllLines(csv);
        Assert.AreEqual("path,label,score,top,error", lines[0]);
        Assert.AreEqual(8, lines.Length);
        var fields = lines.Skip(1).Select(ParseCsvLine).ToList();
        var broken = fields.Single(f => f[0].EndsWith("broken.jpg", StringComparison.Ordinal));
        Assert.AreEqual("", broken[1]);
        StringAssert.Contains(broken[4], "could not be read");
        foreach (var f in fields.Where(f => f != broken))
        {
            Assert.AreEqual("", f[4], f[0]);
            using var top = JsonDocument.Parse(f[3]);
            Assert.AreEqual(2, top.RootElement.GetArrayLength());
            Assert.AreEqual(f[1], top.RootElement[0].GetProperty("label").GetString());
            Assert.AreEqual(float.Parse(f[2], CultureInfo.InvariantCulture), top.RootElement[0].GetProperty("score").GetSingle());
        }
    }

    [TestMethod]
    public void CsvCellsASpreadsheetWouldRunAsFormulasAreNeutralised()
    {
        // Labels come from the model's metadata and paths from folder names: whoever made them controls them. A
        // spreadsheet opening the CSV must see text, not formulas (OWASP: a leading single quote); the JSON "top" cell
        // and the JSON output keep the labels as they are.
        using var dir = new TemporaryDirectory();
        string[] hostile = ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)"];
        string model = TinyModel(Path.Combine(dir.Path, "run"), hostile);
        string images = Path.Combine(dir.Path, "images");
        FashionMnist.Load(train: false).WriteImageFolder(images, 2, [1, 8]);
        WriteWide(Path.Combine(images, "=1+1.png"), 40, 40);
        string csv = Path.Combine(dir.Path, "predictions.csv");
        var run = CliRunner.Run("predict", "--model", model, "--images", images, "--top", "4", "--output", csv);
        Assert.AreEqual(0, run.ExitCode, run.Output + run.Error);
        var fields = File.ReadAllLines(csv).Skip(1).Select(ParseCsvLine).ToList();
        Assert.AreEqual(5, fields.Count);
        foreach (var f in fields)
        {
            using var top = JsonDocument.Parse(f[3]);
            string label = top.RootElement[0].GetProperty("label").GetString()!;
            CollectionAssert.Contains(hostile, label);
            Assert.AreEqual("'" + label, f[1], "the label cell starts with a quote");
        }
        // Paths are written as listed (absolute here), so one that merely contains '=' is left as it is.
        Assert.AreEqual(Path.Combine(images, "=1+1.png"), fields.Single(f => f[0].Contains("1+1", StringComparison.Ordinal))[0]);
        Assert.IsTrue(fields.All(f => f[0].StartsWith(images, StringComparison.Ordinal)), "paths unchanged");
    }

    [TestMethod]
    public void PredictRejectsAnUnknownOutputExtensionInOneLine()
    {
        using var dir = new TemporaryDirectory();
        string model = TinyModel(Path.Combine(dir.Path, "run"));
        var run = CliRunner.Run("predict", "--model", model, "--images", dir.Path, "--output", Path.Combine(dir.Path, "p.txt"));
        Assert.AreEqual(1, run.ExitCode);
        StringAssert.StartsWith(run.Error.Trim(), "error: --output");
        StringAssert.Contains(run.Error, "must end in .csv or .json");
    }

    [TestMethod]
    public void FeaturizeWritesCsvAndParquetRowsEqualToTheFeaturizer()
    {
        using var dir = new TemporaryDirectory();
        string images = Path.Combine(dir.Path, "images");
        FashionMnist.Load(train: false).WriteImageFolder(images, 2, [1, 8]);
        File.WriteAllBytes(Path.Combine(images, "broken.png"), [1, 2, 3]);
        // torchvision's seeded B0 (calibrated so signal flows through every block): features of order one. Random weights
        // at this size pool to about 1e-14, where any absolute tolerance passes a wrong or all-zero feature.
        string weights = Fixtures.Generated("b0.torchvision.pth");
        string[] common = ["featurize", "--images", images, "--variant", "b0", "--weights", weights, "--resolution", "64"];
        string parquet = Path.Combine(dir.Path, "features.parquet"), csv = Path.Combine(dir.Path, "features.csv");

        var toParquet = CliRunner.Run([.. common, "--output", parquet]);
        Assert.AreEqual(2, toParquet.ExitCode, toParquet.Output + toParquet.Error);
        var toCsv = CliRunner.Run([.. common, "--output", csv]);
        Assert.AreEqual(2, toCsv.ExitCode, toCsv.Output + toCsv.Error);

        // The featurizer itself, in this process, on every good image.
        string[] good = Directory.GetFiles(images, "*.png", SearchOption.AllDirectories).Where(p => !p.EndsWith("broken.png", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToArray();
        Assert.AreEqual(4, good.Length);
        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadFromEnumerable(good.Select(p => new PathRow { Path = p }).ToList());
        var options = new Microsoft.ML.EfficientNet.Scoring.EfficientNetFeaturizerOptions { WeightsPath = weights, Resolution = 64 };
        using var featurizer = ml.Transforms.EfficientNetFeaturizer("b0", inputColumnName: "Path", options: options).Fit(data);
        var expected = featurizer.Transform(data).GetColumn<VBuffer<float>>("Features").Select(v => v.DenseValues().ToArray()).ToArray();
        int width = EfficientNetSpec.Create("b0").HeadChannels;
        Assert.AreEqual(width, expected[0].Length);
        // Relative to the features' own scale: both sides run the same ONNX model, so only batching may move the last bits.
        double scale = expected.Max(f => f.Max(v => Math.Abs(v))), tolerance = 1e-5 * scale;
        Assert.IsTrue(scale > 0.1, $"features of max {scale:E2} are too small for the comparison to mean anything");
        // Each image's features differ from the others' by far more than the tolerance, so a row written for another image fails.
        Assert.IsTrue(Enumerable.Range(1, good.Length - 1).All(i => Enumerable.Range(0, width).Max(k => Math.Abs(expected[i][k] - expected[0][k])) > 1000 * tolerance),
            "the images' features are too alike to tell rows apart");

        var read = ParquetSerializer.DeserializeAsync<ParquetRow>(parquet).GetAwaiter().GetResult();
        CollectionAssert.AreEqual(new[] { "path", "error", "features" }, read.Schema.Fields.Select(f => f.Name).ToArray());
        Assert.IsInstanceOfType<ListField>(read.Schema.Fields[2], "features is a Parquet LIST");
        Assert.AreEqual("b0", read.CustomMetadata["variant"]);
        var rows = read.Data;
        Assert.AreEqual(5, rows.Count);
        var bad = rows.Single(r => r.Path.EndsWith("broken.png", StringComparison.Ordinal));
        StringAssert.Contains(bad.Error, "could not be read");
        foreach (var r in rows.Where(r => r != bad))
        {
            Assert.IsNull(r.Error, r.Path);
            Assert.AreEqual(width, r.Features.Length, r.Path);
        }

        var lines = File.ReadAllLines(csv);
        Assert.AreEqual(6, lines.Length);
        var header = lines[0].Split(',');
        Assert.AreEqual(2 + width, header.Length);
        CollectionAssert.AreEqual(new[] { "path", "error", "f0", "f1" }, header[..4]);
        Assert.AreEqual($"f{width - 1}", header[^1]);
        for (int g = 0; g < good.Length; g++)
        {
            var parquetRow = rows.Single(r => Path.GetFullPath(r.Path) == good[g]);
            var csvRow = lines.Skip(1).Select(l => l.Split(',')).Single(f => Path.GetFullPath(f[0]) == good[g]);
            for (int i = 0; i < width; i++)
            {
                Assert.AreEqual(expected[g][i], parquetRow.Features[i], tolerance, $"{good[g]}: feature {i}");
                Assert.AreEqual(expected[g][i], float.Parse(csvRow[2 + i], CultureInfo.InvariantCulture), tolerance, $"{good[g]}: csv feature {i}");
            }
        }
        var csvBad = lines.Skip(1).Single(l => l.Contains("broken.png", StringComparison.Ordinal));
        StringAssert.Contains(csvBad, "could not be read");
    }

    private sealed class ParquetRow
    {
        [System.Text.Json.Serialization.JsonPropertyName("path")]
        public string Path { get; set; } = "";

        [System.Text.Json.Serialization.JsonPropertyName("error")]
        public string? Error { get; set; }

        [System.Text.Json.Serialization.JsonPropertyName("features")]
        public float[] Features { get; set; } = [];
    }

    /// <summary>Splits one RFC 4180 line (quoted fields, doubled quotes).</summary>
    private static List<string> ParseCsvLine(string line)
    {
        var fields = new List<string>();
        var field = new System.Text.StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char ch = line[i];
            if (quoted)
            {
                if (ch == '"' && i + 1 < line.Length && line[i + 1] == '"') { field.Append('"'); i++; }
                else if (ch == '"') quoted = false;
                else field.Append(ch);
            }
            else if (ch == '"') quoted = true;
            else if (ch == ',') { fields.Add(field.ToString()); field.Clear(); }
            else field.Append(ch);
        }
        fields.Add(field.ToString());
        return fields;
    }
}
