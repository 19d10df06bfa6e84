using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using EfficientNet.Training.Training;
using Microsoft.ML.EfficientNet.Evaluation;

namespace EfficientNet.Training.Reports;

/// <summary>The files <see cref="TrainingReport"/> wrote.</summary>
/// <param name="Html">The HTML report, which shows the numbers and embeds both images by relative path.</param>
/// <param name="Curves">PNG: training and validation loss and accuracy per epoch.</param>
/// <param name="Confusion">PNG: the confusion-matrix heatmap, or null without an evaluation.</param>
internal sealed record TrainingReportFiles(string Html, string Curves, string? Confusion);

/// <summary>
/// Writes a training run's report into a folder: <see cref="CurvesFileName"/> (loss and accuracy per epoch, training and
/// validation), <see cref="ConfusionFileName"/> (a heatmap of the confusion matrix of a held-out evaluation, when one is
/// given) and <see cref="HtmlFileName"/> (the run's numbers, the confusion table and both images).
/// </summary>
/// <example>
/// <code>
/// var result = EfficientNetTrainer.Train(options, train, validation);
/// TrainingReport.Write(result, result.OutputDirectory, ReportEvaluation.From(mlContext.MulticlassClassification.Evaluate(scored), classes, "test set"));
/// // apps: result.WriteReport(directory, testMetrics, "test set")
/// </code>
/// </example>
internal static class TrainingReport
{
    /// <summary>File name of the training-curves PNG: <c>training-curves.png</c>.</summary>
    public const string CurvesFileName = "training-curves.png";

    /// <summary>File name of the confusion-matrix PNG: <c>confusion-matrix.png</c>.</summary>
    public const string ConfusionFileName = "confusion-matrix.png";

    /// <summary>File name of the HTML report: <c>report.html</c>.</summary>
    public const string HtmlFileName = "report.html";

    /// <summary>Writes the report of a finished <see cref="EfficientNetTrainer.Train"/> run.</summary>
    /// <param name="result">The run: its history, classes, preprocessing and files.</param>
    /// <param name="directory">Target folder (created when missing); usually the run folder.</param>
    /// <param name="evaluation">Scores on held-out images for the confusion matrix; default none.</param>
    /// <returns>The paths written.</returns>
    public static TrainingReportFiles Write(TrainingResult result, string directory, ReportEvaluation? evaluation = null)
    {
        ArgumentNullException.ThrowIfNull(result);
        var facts = new List<(string, string)>
        {
            ("status", $"{result.Status}: {result.Message}"),
            ("classes", $"{result.Classes.Count}: {string.Join(", ", result.Classes)}"),
            ("input", string.Create(CultureInfo.InvariantCulture, $"{result.Recipe.CropSize} px (resize {result.Recipe.ResizeSize}, mean {result.Recipe.Mean}, std {result.Recipe.Std})")),
            ("best epoch", result.BestEpoch < 0 ? "–" : (result.BestEpoch + 1).ToString(CultureInfo.InvariantCulture)
                + (double.IsFinite(result.BestAccuracy) ? string.Create(CultureInfo.InvariantCulture, $" (validation accuracy {result.BestAccuracy:P2})") : "")),
            ("exported epoch", result.KeptEpoch < 0 ? "–" : (result.KeptEpoch + 1).ToString(CultureInfo.InvariantCulture)),
        };
        if (result.Chance is { Count: > 0 } chance)
            facts.Add(("against chance", string.Create(CultureInfo.InvariantCulture, $"validation accuracy {chance.Accuracy:P2} (95 % interval {chance.Low:P2}–{chance.High:P2}), " +
                $"majority-class rate {chance.ChanceAccuracy:P2}: {(chance.AtChance ? "at chance" : "above chance")}")));
        if (result.ChanceWarning is { } warning) facts.Add(("warning", warning));
        facts.Add(("run folder", result.OutputDirectory));
        if (result.OnnxPath is not null) facts.Add(("ONNX model", result.OnnxPath));
        if (result.WeightsPath is not null) facts.Add(("weights (torchvision names)", result.WeightsPath));
        return Write(directory, result.History, facts, evaluation);
    }

    /// <summary>Writes the report of a run folder from its <c>training.json</c> (for example one left by <c>efficientnet train</c>).</summary>
    /// <param name="runDirectory">The run folder.</param>
    /// <param name="evaluation">Scores on held-out images for the confusion matrix; default none.</param>
    /// <param name="directory">Target folder; default the run folder.</param>
    /// <returns>The paths written.</returns>
    /// <exception cref="FileNotFoundException">The folder has no <c>training.json</c>.</exception>
    public static TrainingReportFiles WriteForRun(string runDirectory, ReportEvaluation? evaluation = null, string? directory = null)
    {
        ArgumentNullException.ThrowIfNull(runDirectory);
        string json = Path.Combine(runDirectory, "training.json");
        if (!File.Exists(json)) throw new FileNotFoundException($"'{json}' does not exist: is '{runDirectory}' a run folder of efficientnet train?", json);
        using var document = JsonDocument.Parse(File.ReadAllText(json));
        var root = document.RootElement;
        static double Number(JsonElement e, string name) =>
            e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : double.NaN;
        var history = root.GetProperty("history").EnumerateArray().Select(h => new EpochMetrics(
            (int)Number(h, "epoch") - 1, Number(h, "TrainLoss"), Number(h, "TrainAccuracy"), Number(h, "ValidationLoss"),
            Number(h, "ValidationAccuracy"), double.NaN, Number(h, "LearningRate"), Number(h, "Seconds"))).ToList();
        var facts = new List<(string, string)>();
        foreach (string name in (string[])["status", "message", "variant", "imageSize", "initialWeights", "trainImages", "validationImages", "bestEpoch", "bestAccuracy", "keptEpoch", "chance_accuracy", "above_chance"])
        {
            if (root.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null) facts.Add((name, v.ToString()));
        }
        facts.Add(("run folder", Path.GetFullPath(runDirectory)));
        return Write(directory ?? runDirectory, history, facts, evaluation);
    }

    /// <summary>The training-curves PNG: loss (left) and accuracy (right) per epoch, training and validation.</summary>
    /// <param name="history">Metrics per epoch, in order.</param>
    public static byte[] RenderCurves(IReadOnlyList<EpochMetrics> history)
    {
        ArgumentNullException.ThrowIfNull(history);
        ReportCharts.Series Line(string name, Func<EpochMetrics, double> value, bool validation) =>
            new(name, validation ? ReportCharts.Orange : ReportCharts.Blue, history.Select(h => ((double)h.Epoch + 1, value(h))).ToList(), Dashed: !validation);
        return ReportCharts.Panels(1200, 480, "Training curves", [
            ("Loss", "mean loss", [Line("train (label-smoothed)", h => h.TrainLoss, false), Line("validation (cross-entropy)", h => h.ValidationLoss, true)], null),
            ("Accuracy", "accuracy (%)", [Line("train (during the epoch)", h => 100 * h.TrainAccuracy, false), Line("validation", h => 100 * h.ValidationAccuracy, true)], (0, 100)),
        ]);
    }

    /// <summary>The confusion-matrix heatmap PNG: rows true classes, columns predictions, shaded by the row's share.</summary>
    /// <param name="evaluation">The scores.</param>
    public static byte[] RenderConfusion(ReportEvaluation evaluation)
    {
        ArgumentNullException.ThrowIfNull(evaluation);
        // The accuracy is a claim: its interval and the rate of always answering the commonest class go with it.
        var judged = ChanceAssessment.FromConfusion(evaluation.Confusion);
        string subtitle = string.Create(CultureInfo.InvariantCulture,
            $"accuracy {evaluation.Accuracy:P2} (95 % interval {judged.Low:P2}–{judged.High:P2}), majority-class rate {judged.ChanceAccuracy:P2}");
        return ReportCharts.Heatmap("Confusion matrix", subtitle, evaluation.Classes, evaluation.Confusion);
    }

    private static TrainingReportFiles Write(string directory, IReadOnlyList<EpochMetrics> history, IReadOnlyList<(string Name, string Value)> facts, ReportEvaluation? evaluation)
    {
        ArgumentNullException.ThrowIfNull(directory);
        Directory.CreateDirectory(directory);
        string curves = Path.Combine(directory, CurvesFileName);
        File.WriteAllBytes(curves, RenderCurves(history));
        string? confusion = null;
        if (evaluation is not null)
        {
            confusion = Path.Combine(directory, ConfusionFileName);
            File.WriteAllBytes(confusion, RenderConfusion(evaluation));
        }
        string html = Path.Combine(directory, HtmlFileName);
        File.WriteAllText(html, Html(history, facts, evaluation, confusion is not null));
        return new TrainingReportFiles(html, curves, confusion);
    }

    private static string Html(IReadOnlyList<EpochMetrics> history, IReadOnlyList<(string Name, string Value)> facts, ReportEvaluation? evaluation, bool hasConfusion)
    {
        var c = CultureInfo.InvariantCulture;
        static string E(string s) => WebUtility.HtmlEncode(s);
        string Pct(double v) => double.IsFinite(v) ? v.ToString("P2", c) : "–";
        string Num(double v) => double.IsFinite(v) ? v.ToString("F4", c) : "–";
        var b = new StringBuilder();
        b.AppendLine("<!DOCTYPE html>");
        b.AppendLine("<html lang=\"en\"><head><meta charset=\"utf-8\"><title>EfficientNet training report</title>");
        b.AppendLine("<style>body{font-family:sans-serif;margin:2em;max-width:1250px}table{border-collapse:collapse;margin:1em 0}" +
            "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#f3f3f3}td.l,th.l{text-align:left}" +
            "td.d{font-weight:bold;background:#e8f0fb}img{max-width:100%}</style></head><body>");
        b.AppendLine("<h1>EfficientNet training report</h1>");
        if (evaluation is not null)
        {
            b.Append(c, $"<p><b>{E(evaluation.Title)}</b>: {evaluation.Count:N0} images, accuracy <b>{Pct(evaluation.Accuracy)}</b>");
            if (evaluation.Top5Accuracy is { } t5) b.Append(c, $", top-5 {Pct(t5)}");
            if (evaluation.MeanLoss is { } loss) b.Append(c, $", mean cross-entropy {Num(loss)}");
            b.AppendLine("</p>");
        }
        b.AppendLine("<table>");
        foreach (var (name, value) in facts) b.AppendLine(c, $"<tr><th class=\"l\">{E(name)}</th><td class=\"l\">{E(value)}</td></tr>");
        b.AppendLine("</table>");

        b.AppendLine("<h2>Training curves</h2>");
        b.AppendLine(c, $"<img src=\"{CurvesFileName}\" alt=\"Loss and accuracy per epoch\">");
        b.AppendLine("<table><tr><th>epoch</th><th>train loss</th><th>train accuracy</th><th>validation loss</th><th>validation accuracy</th><th>learning rate</th><th>seconds</th></tr>");
        foreach (var h in history)
        {
            b.AppendLine(c, $"<tr><td>{h.Epoch + 1}</td><td>{Num(h.TrainLoss)}</td><td>{Pct(h.TrainAccuracy)}</td><td>{Num(h.ValidationLoss)}</td>" +
                $"<td>{Pct(h.ValidationAccuracy)}</td><td>{h.LearningRate.ToString("G3", c)}</td><td>{h.Seconds.ToString("F1", c)}</td></tr>");
        }
        b.AppendLine("</table>");

        if (evaluation is not null)
        {
            b.AppendLine(c, $"<h2>Confusion matrix: {E(evaluation.Title)}</h2>");
            if (hasConfusion) b.AppendLine(c, $"<img src=\"{ConfusionFileName}\" alt=\"Confusion matrix heatmap\">");
            b.Append("<table><tr><th class=\"l\">true \\ predicted</th>");
            foreach (string name in evaluation.Classes) b.Append(c, $"<th>{E(name)}</th>");
            b.AppendLine("<th>recall</th></tr>");
            int k = evaluation.Classes.Count;
            for (int i = 0; i < k; i++)
            {
                b.Append(c, $"<tr><th class=\"l\">{E(evaluation.Classes[i])}</th>");
                long total = 0;
                for (int j = 0; j < k; j++)
                {
                    total += evaluation.Confusion[i, j];
                    b.Append(i == j ? "<td class=\"d\">" : "<td>").Append(evaluation.Confusion[i, j].ToString(c)).Append("</td>");
                }
                b.AppendLine(c, $"<td>{(total == 0 ? "–" : (evaluation.Confusion[i, i] / (double)total).ToString("P1", c))}</td></tr>");
            }
            b.AppendLine("</table>");
        }
        b.AppendLine("</body></html>");
        return b.ToString();
    }
}
