using EfficientNet.Training.Reports;
using EfficientNet.Training.Training;
using Microsoft.ML.EfficientNet.Preprocessing;
using SkiaSharp;

namespace EfficientNet.Training.Tests.Reports;

[TestClass]
public sealed class TrainingReportTests
{
    private static readonly string[] Classes = ["Trouser", "Sneaker", "Bag"];

    private static TrainingResult Result(string folder) => new()
    {
        Status = TrainingStatus.Completed,
        Message = "3 epochs",
        History =
        [
            new EpochMetrics(0, 1.20, 0.45, 0.95, 0.60, double.NaN, 3e-3, 10.5),
            new EpochMetrics(1, 0.80, 0.70, 0.60, 0.78, double.NaN, 1e-3, 10.1),
            new EpochMetrics(2, 0.55, 0.84, 0.41, 0.88, double.NaN, 1e-6, 9.9),
        ],
        BestEpoch = 2,
        BestAccuracy = 0.88,
        Classes = Classes,
        Recipe = PreprocessingRecipe.Centered(32, 1.0),
        OutputDirectory = folder,
    };

    private static ReportEvaluation Evaluation() => new()
    {
        Title = "test set",
        Classes = Classes,
        Confusion = new long[,] { { 90, 4, 6 }, { 2, 95, 3 }, { 10, 5, 85 } },
        Accuracy = 270 / 300.0,
        MeanLoss = 0.3,
    };

    private static void AssertPng(string path, int minWidth, int minHeight)
    {
        using var bitmap = SKBitmap.Decode(path);
        Assert.IsNotNull(bitmap, $"{path} does not decode as an image");
        Assert.IsTrue(bitmap.Width >= minWidth && bitmap.Height >= minHeight, $"{path}: {bitmap.Width}×{bitmap.Height}");
        Assert.IsTrue(new FileInfo(path).Length > 10_000, $"{path}: {new FileInfo(path).Length} bytes");
        // Drawn, not blank: a good share of pixels differ from the white background, in more than two colours.
        var colours = new HashSet<SKColor>();
        int inked = 0;
        for (int y = 0; y < bitmap.Height; y += 2)
            for (int x = 0; x < bitmap.Width; x += 2)
            {
                var p = bitmap.GetPixel(x, y);
                colours.Add(p);
                if (p != SKColors.White) inked++;
            }
        Assert.IsTrue(inked > bitmap.Width * bitmap.Height / 4 / 50, $"{path}: only {inked} non-white samples");
        Assert.IsTrue(colours.Count > 20, $"{path}: {colours.Count} colours");
    }

    [TestMethod]
    public void WritesCurvesConfusionHeatmapAndHtmlThatReferencesThem()
    {
        using var dir = new TemporaryDirectory();
        var files = TrainingReport.Write(Result(dir.Path), Path.Combine(dir.Path, "report"), Evaluation());
        Assert.AreEqual(Path.Combine(dir.Path, "report", TrainingReport.CurvesFileName), files.Curves);
        AssertPng(files.Curves, 1000, 400);
        // Three classes make a narrow grid; the picture widens for the subtitle with the interval and the chance rate.
        AssertPng(files.Confusion!, 450, 3 * 64);
        Directory.CreateDirectory(Path.Combine(Fixtures.RepositoryRoot, "artifacts", "reports"));
        File.Copy(files.Confusion!, Path.Combine(Fixtures.RepositoryRoot, "artifacts", "reports", "confusion-matrix.png"), overwrite: true);
        File.Copy(files.Curves, Path.Combine(Fixtures.RepositoryRoot, "artifacts", "reports", "training-curves.png"), overwrite: true);
        string html = File.ReadAllText(files.Html);
        StringAssert.Contains(html, $"<img src=\"{TrainingReport.CurvesFileName}\"");
        StringAssert.Contains(html, $"<img src=\"{TrainingReport.ConfusionFileName}\"");
        StringAssert.Contains(html, "accuracy <b>90.00 %</b>");
        StringAssert.Contains(html, "<td class=\"d\">95</td>"); // the Sneaker diagonal cell
        StringAssert.Contains(html, "<td>85.0 %</td></tr>"); // Bag's recall
        StringAssert.Contains(html, "<td>88.00 %</td>"); // epoch 3's validation accuracy
    }

    [TestMethod]
    public void WritesTheCurvesOfARunFolderFromItsTrainingJson()
    {
        using var dir = new TemporaryDirectory();
        File.WriteAllText(Path.Combine(dir.Path, "training.json"), """
            {"status":"Completed","variant":"b0","imageSize":32,"bestEpoch":2,"bestAccuracy":0.5,
             "history":[{"epoch":1,"TrainLoss":1.5,"TrainAccuracy":0.3,"ValidationLoss":null,"ValidationAccuracy":null,"LearningRate":0.001,"Seconds":3},
                        {"epoch":2,"TrainLoss":1.1,"TrainAccuracy":0.5,"ValidationLoss":null,"ValidationAccuracy":null,"LearningRate":0.0001,"Seconds":3}]}
            """);
        var files = TrainingReport.WriteForRun(dir.Path);
        Assert.IsNull(files.Confusion);
        AssertPng(files.Curves, 1000, 400);
        string html = File.ReadAllText(files.Html);
        StringAssert.Contains(html, "<td>2</td><td>1.1000</td><td>50.00 %</td><td>–</td><td>–</td>");
        Assert.IsFalse(html.Contains(TrainingReport.ConfusionFileName, StringComparison.Ordinal));
        Assert.ThrowsExactly<FileNotFoundException>(() => TrainingReport.WriteForRun(Path.Combine(dir.Path, "missing")));
    }
}
