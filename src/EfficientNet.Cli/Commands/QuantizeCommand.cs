using System.CommandLine;
using EfficientNet.Cli.Arguments;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.ML.EfficientNet.IO;
using Microsoft.ML.EfficientNet.Quantization;
using Spectre.Console;

namespace EfficientNet.Cli.Commands;

/// <summary>
/// <c>efficientnet quantize --model IN.onnx|RUN_DIR --calibration DIR|fashion-mnist[-test] [--count N] --output OUT.onnx</c>:
/// post-training static int8 quantisation of a model <c>export</c> or <c>train</c> wrote, calibrated on images, and how
/// close the result stays to the float model on them. Other tooling relies on this form. <c>--model</c> may also be a
/// weights file, exported first with the preprocessing and labels it records.
/// </summary>
internal static class QuantizeCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model")
        {
            Description = "An .onnx file of efficientnet export (--bare ones too), a run folder of efficientnet train, an ML.NET model.zip saved from this library's trainer, or a weights file (a run's model.safetensors: exported first with its recipe and labels).",
            Required = true,
        };
        var calibration = new Option<string>("--calibration")
        {
            Description = "Calibration images: a folder (flat, or one sub-folder per class), fashion-mnist or fashion-mnist-test.",
            Required = true,
        };
        var count = new Option<int>("--count") { DefaultValueFactory = _ => QuantizationOptions.Defaults.CalibrationImages, Description = "Calibration images used at most, taken from each class in turn." }.Within(1);
        var output = new Option<FileInfo>("--output", "-o") { Description = "The int8 .onnx file to write.", Required = true };
        var method = new Option<string>("--method")
        {
            DefaultValueFactory = _ => QuantizationOptions.Defaults.Method.ToString().ToLowerInvariant(),
            Description = "How activation ranges are chosen: minmax, percentile or entropy.",
        };
        var percentile = new Option<double>("--percentile") { DefaultValueFactory = _ => QuantizationOptions.Defaults.Percentile, Description = "For --method percentile: share of each tail kept, in percent." }
            .Within(50, 100);
        var layers = new Option<string?>("--layers")
        {
            Description = "Layers run as int8, comma-separated: convolutions, activations, squeeze-excitation, residuals, head, or all. Default: " +
                          LayerNames(QuantizationOptions.Defaults.Layers) + ".",
        };
        var maxDrop = new Option<double>("--max-accuracy-drop")
        {
            DefaultValueFactory = _ => QuantizationOptions.Defaults.MaxAccuracyDrop,
            Description = "Percentage points the int8 model may lose on the held-out images (accuracy with labels of the model's classes, else top-1 disagreement); past it, layers fall back to float, most sensitive first.",
        };
        var heldOut = new Option<int>("--held-out")
        {
            DefaultValueFactory = _ => QuantizationOptions.Defaults.HeldOutImages,
            Description = "Images of --calibration after the first --count held out to measure the int8 model, at most (a set no larger than --count gives a quarter); 0 measures on the calibration images and searches nothing.",
        };
        var weightBits = new Option<int>("--weight-bits")
        {
            DefaultValueFactory = _ => QuantizationOptions.Defaults.WeightBits,
            Description = "Bits of the int8 weights: 7 (no saturation on x86 CPUs without VNNI) or 8.",
        };
        var json = new Option<bool>("--json") { Description = "Print the report as JSON." };
        var command = new Command("quantize", "Quantise a model to int8 (static, calibrated on images; QDQ, per-channel weights) and compare it with the float model.")
        {
            model, calibration, count, output, method, percentile, layers, maxDrop, heldOut, weightBits, json,
        };
        command.SetAction(result =>
        {
            string path = RunFolder.ModelPathOf(result.GetValue(model)!);
            string data = result.GetValue(calibration)!;
            OutputArguments.RefuseInput(result.GetValue(output)!.FullName, "--output", (path, "--model"));
            var images = DataArguments.OpenUnlabelled(data);
            // Warnings (skipped images) go to stderr, so --json output stays one JSON document.
            using var loggerFactory = LoggerFactory.Create(b => b.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace)
                .AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning));
            var options = new QuantizationOptions
            {
                CalibrationImages = result.GetValue(count),
                Method = ParseMethod(result.GetValue(method)!),
                Percentile = result.GetValue(percentile),
                Layers = result.GetValue(layers) is { } l ? ParseLayers(l) : QuantizationOptions.Defaults.Layers,
                MaxAccuracyDrop = result.GetValue(maxDrop),
                HeldOutImages = result.GetValue(heldOut),
                WeightBits = result.GetValue(weightBits),
                Logger = loggerFactory.CreateLogger("efficientnet"),
            };
            var target = result.GetValue(output)!;
            var report = EfficientNetQuantizer.Quantize(path, images, target.FullName, options);
            long before = new FileInfo(path).Length, after = new FileInfo(target.FullName).Length;
            if (result.GetValue(json)) PrintJson(report, options, path, target.FullName, before, after);
            else Print(report, options, path, target.FullName, before, after);
            // A model that never agrees with the float one, or whose outputs are not numbers, is not a result.
            if (report.Top1Agreement is 0 || report.Top1Agreement is double.NaN || double.IsNaN(report.MeanCosine))
            {
                Output.Terminal.Error("error", $"the int8 model '{target.FullName}' does not work: it agrees with the float model on {report.Top1Agreement:P0} of the calibration images (mean cosine {report.MeanCosine:F3}). Try another --method or --layers.");
                return 1;
            }
            return 0;
        });
        return command;
    }

    private static CalibrationMethod ParseMethod(string name) => name.Trim().ToLowerInvariant() switch
    {
        "minmax" or "min-max" => CalibrationMethod.MinMax,
        "percentile" => CalibrationMethod.Percentile,
        "entropy" => CalibrationMethod.Entropy,
        _ => throw new ArgumentException($"Unknown calibration method '{name}'; use minmax, percentile or entropy."),
    };

    private static readonly (string Name, QuantizedLayers Layer)[] Layers =
    [
        ("convolutions", QuantizedLayers.Convolutions), ("activations", QuantizedLayers.Activations),
        ("squeeze-excitation", QuantizedLayers.SqueezeExcitation), ("residuals", QuantizedLayers.Residuals), ("head", QuantizedLayers.Head),
        ("all", QuantizedLayers.All),
    ];

    private static QuantizedLayers ParseLayers(string list)
    {
        var layers = QuantizedLayers.None;
        foreach (string name in list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var match = Layers.FirstOrDefault(l => l.Name.Equals(name, StringComparison.OrdinalIgnoreCase));
            if (match.Name is null)
                throw new ArgumentException($"Unknown layer kind '{name}' in --layers; use {string.Join(", ", Layers.Select(l => l.Name))}.");
            layers |= match.Layer;
        }
        return layers;
    }

    private static string LayerNames(QuantizedLayers layers) =>
        string.Join(",", Layers.Where(l => l.Layer != QuantizedLayers.All && layers.HasFlag(l.Layer)).Select(l => l.Name));

    private static void Print(QuantizationReport r, QuantizationOptions options, string input, string output, long before, long after)
    {
        var c = CultureInfo.InvariantCulture;
        AnsiConsole.WriteLine($"{output}: int8 from {input} ({before / 1048576.0:F1} MB → {after / 1048576.0:F1} MB) in {r.Seconds:F1} s");
        AnsiConsole.WriteLine($"{r.QuantizedNodes} nodes int8 ({LayerNames(options.Layers)}), {r.Activations} activation ranges by {options.Method.ToString().ToLowerInvariant()} on {r.Images} images");
        string on = r.HeldOutImages > 0 ? $"on {r.HeldOutImages} held-out images" : $"on the {r.Images} calibration images";
        var table = new Table().Border(TableBorder.Simple).AddColumn(on).AddColumn(new TableColumn("value").RightAligned());
        if (r.Top1Agreement is { } agreement) table.AddRow("top-1 agreement with fp32", agreement.ToString("P2", c));
        table.AddRow($"mean cosine of {r.Output}", r.MeanCosine.ToString("F5", c));
        if (r.Float32Accuracy is { } fp32 && r.Int8Accuracy is { } int8)
        {
            table.AddRow("accuracy fp32", fp32.ToString("P2", c));
            table.AddRow("accuracy int8", int8.ToString("P2", c));
        }
        if (r.AccuracyDrop is { } drop) table.AddRow(r.Float32Accuracy is null ? "points lost (top-1 changes)" : "points lost", drop.ToString("F2", c));
        AnsiConsole.Write(table);
        foreach (var step in r.Steps)
            AnsiConsole.WriteLine(string.Create(c, $"  {step.Layer} float (sensitivity {step.Sensitivity:P1}): {step.AccuracyDrop:F2} points lost, agreement {step.Top1Agreement:P2}"));
        if (r.WithinMaxAccuracyDrop is { } within)
        {
            string layers = r.FloatLayers.Count == 0 ? "every layer int8" : $"float layers: {string.Join(", ", r.FloatLayers)}";
            string all = r.FloatLayers.Count == 0 ? "" : string.Create(c, $" (all int8: {r.AllLayersAccuracyDrop:F2})");
            AnsiConsole.WriteLine(within
                ? string.Create(c, $"Within --max-accuracy-drop {r.MaxAccuracyDrop:0.##}: {r.AccuracyDrop:F2} points lost{all}; {layers}.")
                : string.Create(c, $"--max-accuracy-drop {r.MaxAccuracyDrop:0.##} cannot be met with at most half of the layers float; the best found loses {r.AccuracyDrop:F2} points{all}; {layers}."));
        }
    }

    private static void PrintJson(QuantizationReport r, QuantizationOptions options, string input, string output, long before, long after) =>
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            model = input,
            output,
            images = r.Images,
            method = options.Method.ToString().ToLowerInvariant(),
            layers = LayerNames(options.Layers),
            compared = r.Output,
            top1Agreement = r.Top1Agreement,
            meanCosine = r.MeanCosine,
            fp32Accuracy = r.Float32Accuracy,
            int8Accuracy = r.Int8Accuracy,
            quantizedNodes = r.QuantizedNodes,
            activations = r.Activations,
            bytesBefore = before,
            bytesAfter = after,
            seconds = r.Seconds,
            heldOutImages = r.HeldOutImages,
            weightBits = options.WeightBits,
            maxAccuracyDrop = r.MaxAccuracyDrop,
            accuracyDrop = r.AccuracyDrop,
            withinMaxAccuracyDrop = r.WithinMaxAccuracyDrop,
            allLayersAccuracyDrop = r.AllLayersAccuracyDrop,
            allLayersTop1Agreement = r.AllLayersTop1Agreement,
            floatLayers = r.FloatLayers,
            steps = r.Steps.Select(s => new { layer = s.Layer, sensitivity = s.Sensitivity, accuracyDrop = s.AccuracyDrop, top1Agreement = s.Top1Agreement }),
        }, JsonFormat.Compact));
}
