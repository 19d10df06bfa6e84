using System.CommandLine;
using EfficientNet.Cli.Arguments;
using EfficientNet.Cli.Output;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.ML.EfficientNet.IO;
using Microsoft.ML.EfficientNet.Scoring;
using Spectre.Console;

namespace EfficientNet.Cli.Commands;

/// <summary>
/// <c>efficientnet predict</c>: the top-k classes of each image with softmax probabilities, through the deployed
/// preprocessing and <see cref="EfficientNetPredictor"/>; with <c>--explain</c> also a class activation map per image as
/// PNG (a warning, once, when the model's input is too small for the maps to show anything:
/// <see cref="Microsoft.ML.EfficientNet.Explain.ClassActivationMap.Warning"/>). The model is an ONNX file, a run folder, or
/// a weights file scored with the preprocessing and labels it records. An image that cannot be read keeps its row, with
/// <c>error</c> set; the others are still predicted.
/// Exit code: 0 when every image was predicted, 2 when some could not be (their rows say why), 1 for a bad argument or
/// model (one line on stderr, nothing written).
/// </summary>
internal static class PredictCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model")
        {
            Description = "A run folder of efficientnet train (its model.onnx), an .onnx file from efficientnet export, the model.zip the ML.NET trainer saved, or a weights file (a run's model.safetensors: its recipe and labels are used).",
            Required = true,
        };
        var images = ImageArguments.Images();
        var top = new Option<int>("--top") { DefaultValueFactory = _ => EfficientNetPredictorOptions.Defaults.Top, Description = "Classes reported per image." };
        var output = new Option<string?>("--output", "-o") { Description = "Also write the predictions to a .csv or .json file (chosen by the extension)." };
        var explain = new Option<string?>("--explain") { Description = "Folder to write one class activation map PNG per image into (the predicted class over the image)." };
        var batchSize = ScoringArguments.BatchSize(EfficientNetPredictorOptions.Defaults.BatchSize);
        var exifOrientation = DataArguments.ApplyExifOrientation();
        var command = new Command("predict", "Top-k classes of images with an exported model; optionally class activation maps as PNG.")
        {
            model, images, top, output, explain, batchSize, exifOrientation,
        };
        command.SetAction(result =>
        {
            int k = result.GetValue(top);
            if (k < 1) throw new ArgumentException($"--top must be at least 1; got {k}.");
            int batch = ScoringArguments.Read(result, batchSize);
            string? outputPath = result.GetValue(output);
            var format = outputPath is null ? null : OutputArguments.Format(outputPath, "--output", ".csv", ".json");
            var files = ImageArguments.List(result.GetValue(images)!);
            string? explainFolder = result.GetValue(explain);
            if (explainFolder is not null) Directory.CreateDirectory(explainFolder);

            using var predictor = EfficientNetPredictor.Load(result.GetValue(model)!, new EfficientNetPredictorOptions { BatchSize = batch, ApplyExifOrientation = result.GetValue(exifOrientation) });
            var rows = new List<Row>(files.Count);
            var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            bool warned = false;
            foreach (var p in predictor.Predict(files, k, explain: explainFolder is not null))
            {
                string? cam = null, error = p.Error;
                if (p.ActivationMap is { } map)
                {
                    // The same for every map of the model: said once, before the table.
                    if (map.Warning is { } warning && !warned)
                    {
                        Console.Error.WriteLine($"warning: {warning}");
                        warned = true;
                    }
                    cam = Path.Combine(explainFolder!, UniqueName(names, p.Source));
                    try
                    {
                        map.SavePng(p.Source, cam);
                    }
                    catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
                    {
                        error = $"the class activation map could not be written ({e.Message})";
                        cam = null;
                    }
                }
                rows.Add(new Row(p.Source, p.Label, p.Succeeded ? p.Score : null, p.Top, error, cam));
            }

            if (outputPath is not null)
            {
                if (format == ".json") AtomicFile.Write(outputPath, s => WriteJson(s, rows, explainFolder is not null));
                else AtomicFile.Write(outputPath, s => WriteCsv(s, rows, explainFolder is not null));
            }
            Print(rows, k);
            int failed = rows.Count(r => r.Error is not null);
            var c = CultureInfo.InvariantCulture;
            Console.WriteLine(string.Create(c, $"{rows.Count - failed} of {rows.Count} images predicted with {predictor.ModelPath}") +
                (failed > 0 ? string.Create(c, $"; {failed} failed") : "") +
                (outputPath is not null ? $"; predictions in {outputPath}" : "") +
                (explainFolder is not null ? $"; class activation maps in {explainFolder}" : "") + ".");
            return failed > 0 ? ExitCodes.SomeImagesFailed : 0;
        });
        return command;
    }

    /// <summary>One output row: the prediction, or the error that kept the image from being predicted.</summary>
    private sealed record Row(string Path, string? Label, float? Score, IReadOnlyList<ClassScore> Top, string? Error, string? Cam);

    /// <summary><c>photo.cam.png</c> for <c>photo.jpg</c>; <c>photo-2.cam.png</c>, <c>photo-3.cam.png</c> … for later images with the same name.</summary>
    private static string UniqueName(HashSet<string> taken, string source)
    {
        string stem = Path.GetFileNameWithoutExtension(source);
        if (stem.Length == 0) stem = "image";
        string name = stem + ".cam.png";
        for (int i = 2; !taken.Add(name); i++) name = string.Create(CultureInfo.InvariantCulture, $"{stem}-{i}.cam.png");
        return name;
    }

    private static void Print(List<Row> rows, int k)
    {
        var c = CultureInfo.InvariantCulture;
        if (Console.IsOutputRedirected)
        {
            foreach (var r in rows)
                Console.WriteLine(r.Error is not null ? $"{r.Path}\terror: {r.Error}"
                    : string.Create(c, $"{r.Path}\t{r.Label}\t{r.Score:F4}\t") + string.Join(", ", r.Top.Select(t => string.Create(c, $"{t.Label} {t.Score:F4}"))));
            return;
        }
        var table = new Table().Border(TableBorder.Simple).AddColumn("image").AddColumn("label").AddColumn(new TableColumn("score").RightAligned());
        if (k > 1) table.AddColumn($"top {k}");
        foreach (var r in rows)
        {
            var cells = new List<string> { Markup.Escape(r.Path) };
            if (r.Error is not null)
            {
                cells.Add("[red]error[/]");
                cells.Add("");
                if (k > 1) cells.Add(Markup.Escape(r.Error));
            }
            else
            {
                cells.Add(Markup.Escape(r.Label!));
                cells.Add(r.Score!.Value.ToString("P1", c));
                if (k > 1) cells.Add(Markup.Escape(string.Join(", ", r.Top.Skip(1).Select(t => string.Create(c, $"{t.Label} {t.Score:P1}")))));
            }
            table.AddRow(cells.ToArray());
        }
        AnsiConsole.Write(table);
    }

    private static void WriteJson(Stream stream, List<Row> rows, bool explain)
    {
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        json.WriteStartArray();
        foreach (var r in rows)
        {
            json.WriteStartObject();
            json.WriteString("path", r.Path);
            if (r.Label is null) json.WriteNull("label"); else json.WriteString("label", r.Label);
            if (r.Score is { } s) json.WriteNumber("score", s); else json.WriteNull("score");
            json.WriteStartArray("top");
            foreach (var t in r.Top)
            {
                json.WriteStartObject();
                json.WriteString("label", t.Label);
                json.WriteNumber("score", t.Score);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            if (r.Error is null) json.WriteNull("error"); else json.WriteString("error", r.Error);
            if (explain)
            {
                if (r.Cam is null) json.WriteNull("cam"); else json.WriteString("cam", r.Cam);
            }
            json.WriteEndObject();
        }
        json.WriteEndArray();
    }

    private static void WriteCsv(Stream stream, List<Row> rows, bool explain)
    {
        var c = CultureInfo.InvariantCulture;
        using var writer = new StreamWriter(stream, new UTF8Encoding(false), leaveOpen: true);
        writer.WriteLine(explain ? "path,label,score,top,error,cam" : "path,label,score,top,error");
        foreach (var r in rows)
        {
            // top: the same list as the JSON output's, as a JSON array in one cell.
            string top = JsonSerializer.Serialize(r.Top.Select(t => new { label = t.Label, score = t.Score }));
            var cells = new List<string> { Csv.Field(r.Path), Csv.Field(r.Label ?? ""), r.Score?.ToString("R", c) ?? "", Csv.Field(top), Csv.Field(r.Error ?? "") };
            if (explain) cells.Add(Csv.Field(r.Cam ?? ""));
            writer.WriteLine(string.Join(",", cells));
        }
    }
}
