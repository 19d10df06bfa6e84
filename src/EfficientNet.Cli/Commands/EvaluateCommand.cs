using System.CommandLine;
using EfficientNet.Cli.Arguments;
using EfficientNet.Cli.Output;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.ML.EfficientNet.Data;
using Microsoft.ML.EfficientNet.Evaluation;
using Microsoft.ML.EfficientNet.IO;
using Microsoft.ML.EfficientNet.Onnx;
using Microsoft.ML.EfficientNet.Scoring;
using Spectre.Console;

namespace EfficientNet.Cli.Commands;

/// <summary>
/// <c>efficientnet evaluate</c>: accuracy beside the majority-class rate, top-5 (more than five classes) and the
/// confusion matrix of an exported model on labelled images,
/// computed exactly as the model is deployed: ML.NET's resize and pixel extraction, then the ONNX model (preprocessing
/// inside) run by ONNX Runtime.
/// </summary>
internal static class EvaluateCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "A run folder of efficientnet train (its model.onnx), an .onnx file from efficientnet export, an ML.NET model.zip saved from this library's trainer, or a weights file.", Required = true };
        var data = DataArguments.Data();
        var classes = DataArguments.Classes();
        var perClass = DataArguments.PerClass();
        var batchSize = ScoringArguments.BatchSize(64);
        var json = new Option<bool>("--json") { Description = "Print the metrics as JSON." };
        var command = new Command("evaluate", "Accuracy beside the majority-class rate, top-5 (more than five classes) and confusion matrix of an exported model on labelled images.")
        {
            model, data, classes, perClass, batchSize, json,
        };
        command.SetAction(result =>
        {
            int batch = ScoringArguments.Read(result, batchSize);
            string path = result.GetValue(model)!;
            path = RunFolder.ModelPathOf(path);
            // A wrong model is reported before the data is opened (which can take a while, and fails for its own reasons).
            if (!File.Exists(path)) throw new FileNotFoundException($"Model '{path}' does not exist.", path);
            OnnxModelValidation.Check(EfficientNetOnnxExporter.ReadOrExport(path), path, OnnxExportOptions.LogitsOutputName);
            var images = DataArguments.Open(result.GetValue(data)!, result.GetValue(classes), result.GetValue(perClass));
            var clock = Stopwatch.StartNew();
            var (metrics, labels) = OnnxModelEvaluation.Evaluate(path, images, batch);
            double seconds = clock.Elapsed.TotalSeconds;
            // An accuracy of no images is NaN, which exit code 0 would pass on as a result.
            if (metrics.Count == 0 || double.IsNaN(metrics.Accuracy))
                throw new InvalidDataException($"No image of --data '{result.GetValue(data)}' was evaluated ({metrics.Count} images); nothing to report.");
            if (result.GetValue(json)) PrintJson(metrics, labels, seconds);
            else Print(metrics, labels, path, seconds);
            return 0;
        });
        return command;
    }

    private static void Print(ClassificationMetrics m, IReadOnlyList<string> labels, string model, double seconds)
    {
        var c = CultureInfo.InvariantCulture;
        AnsiConsole.WriteLine($"{Terminal.Safe(model)}: {m.Count:N0} images in {seconds:F1} s ({m.Count / seconds:F0} images/s)");
        var chance = m.Chance();
        // The majority-class rate beside the accuracy: what always answering the most frequent class would score. Top-5
        // only with more than five classes, where it can be below 100 %.
        AnsiConsole.WriteLine(string.Create(c, $"accuracy {m.Accuracy:P2} (95 % interval {chance.Low:P2}–{chance.High:P2})   majority-class rate {chance.ChanceAccuracy:P2}") +
            (m.Classes > 5 ? string.Create(c, $"   top-5 {m.Top5Accuracy:P2}") : "") + string.Create(c, $"   mean cross-entropy {m.MeanLoss:F4}"));
        var confusion = m.Confusion;
        var used = Enumerable.Range(0, m.Classes).Where(i => Enumerable.Range(0, m.Classes).Any(j => confusion[i, j] + confusion[j, i] > 0)).ToList();
        if (AnsiConsole.Profile.Width < 40 + 8 * used.Count && Console.IsOutputRedirected) AnsiConsole.Profile.Width = 40 + 10 * used.Count;
        var table = new Table().Border(TableBorder.Simple).AddColumn("true \\ predicted");
        foreach (int j in used) table.AddColumn(new TableColumn(Markup.Escape(Terminal.Safe(labels[j]))).RightAligned());
        table.AddColumn(new TableColumn("recall").RightAligned());
        foreach (int i in used)
        {
            long total = Enumerable.Range(0, m.Classes).Sum(j => confusion[i, j]);
            var cells = new List<string> { Markup.Escape(Terminal.Safe(labels[i])) };
            cells.AddRange(used.Select(j => confusion[i, j].ToString(c)));
            cells.Add(total == 0 ? "–" : (confusion[i, i] / (double)total).ToString("P1", c));
            table.AddRow(cells.ToArray());
        }
        AnsiConsole.Write(table);
        if (chance.Warning(labels, "the model separates these classes no better than guessing: trained too briefly, or from scratch on few images, or on images unlike these") is { } warning)
        {
            // One line when redirected, as scripts read it; Spectre.Console would wrap it.
            if (Console.IsOutputRedirected) Console.Out.WriteLine(Terminal.Safe("Warning: " + warning));
            else AnsiConsole.MarkupLine($"[yellow]{Markup.Escape(Terminal.Safe("Warning: " + warning))}[/]");
        }
    }

    private static void PrintJson(ClassificationMetrics m, IReadOnlyList<string> labels, double seconds)
    {
        var confusion = m.Confusion;
        var rows = Enumerable.Range(0, m.Classes).Select(i => Enumerable.Range(0, m.Classes).Select(j => confusion[i, j]).ToArray()).ToArray();
        var chance = m.Chance();
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            images = m.Count,
            accuracy = m.Accuracy,
            chance_accuracy = chance.ChanceAccuracy,
            above_chance = chance.AboveChance,
            collapsed = chance.Collapsed,
            top5 = m.Classes > 5 ? m.Top5Accuracy : (double?)null,
            meanLoss = m.MeanLoss,
            labels,
            confusion = rows,
            seconds,
        }, JsonFormat.Compact));
    }
}
