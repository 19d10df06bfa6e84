using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using EfficientNet.Cli.Arguments;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Onnx;
using Microsoft.ML.EfficientNet.Preprocessing;
using Microsoft.ML.EfficientNet.Weights;
using Spectre.Console;

namespace EfficientNet.Cli.Commands;

/// <summary>
/// <c>efficientnet info</c>: the variant table (the paper's, computed from the spec, not typed in), optionally with a
/// custom φ or custom multipliers, with the published ImageNet accuracy of torchvision's weights
/// (<see cref="PretrainedWeights.Published"/>). <c>--json</c> prints a machine-readable array; its field names are a contract.
/// </summary>
internal static class InfoCommand
{
    /// <summary>The largest φ: 224·1.15^15 ≈ 1,822 pixels, within the largest input size.</summary>
    private const double MaxPhi = 15;

    /// <summary>The largest custom width or depth multiplier: eight times B7's, with every count and MAC total far from overflowing.</summary>
    private const double MaxMultiplier = 16;

    public static Command Create()
    {
        // φ up to 15 keeps the resolution (224·1.15^φ) within the largest input size.
        var phi = new Option<double?>("--phi") { Description = "Add a variant scaled by the compound coefficient φ ≥ 0 (w = 1.1^φ, d = 1.2^φ, r = 224·1.15^φ)." }.Within(0, MaxPhi, why: "the compound coefficient φ");
        var width = new Option<double?>("--width") { Description = "Add a custom variant with this width multiplier (needs --depth and --resolution)." }.Within(0, MaxMultiplier, openMin: true);
        var depth = new Option<double?>("--depth") { Description = "Depth multiplier of the custom variant." }.Within(0, MaxMultiplier, openMin: true);
        var resolution = new Option<int?>("--resolution") { Description = "Input resolution of the custom variant, in pixels." }
            .Within(PreprocessingRecipe.MinimumInputSize, PreprocessingRecipe.MaximumInputSize, "pixels");
        var classes = new Option<int>("--classes") { Description = "Classifier outputs used for the parameter count.", DefaultValueFactory = _ => 1000 }
            .Within(1, OnnxModelMetadata.MaximumClasses);
        var json = new Option<bool>("--json") { Description = "Print a JSON array (name, width, depth, resolution, dropout, params, macs, top1, top5, …) instead of a table." };
        var command = new Command("info", "Print the EfficientNet family: width, depth, resolution, dropout, stem, head, blocks, parameters, MACs and the published ImageNet top-1/top-5 of torchvision's weights.")
        {
            phi, width, depth, resolution, classes, json,
        };
        command.SetAction(result =>
        {
            var variants = new List<EfficientNetVariant>(EfficientNetVariant.Named);
            if (result.GetValue(phi) is { } p) variants.Add(EfficientNetVariant.FromPhi(p));
            if (result.GetValue(width) is { } w)
            {
                if (result.GetValue(depth) is not { } d || result.GetValue(resolution) is not { } r)
                    throw new ArgumentException("--width needs --depth and --resolution too.");
                variants.Add(EfficientNetVariant.Custom(w, d, r));
            }
            var rows = variants.Select(v => Row.From(EfficientNetSpec.Create(v, result.GetValue(classes)))).ToList();
            if (result.GetValue(json)) PrintJson(rows);
            else PrintTable(rows);
            return 0;
        });
        return command;
    }

    private sealed record Row(string Name, double Width, double Depth, int Resolution, double Dropout, int Stem, int Head,
        int Blocks, string Stages, long Params, long Macs, int FinalMap, double? Top1, double? Top5)
    {
        public static Row From(EfficientNetSpec spec)
        {
            // The accuracy of the weights the featurizer and `train --initial-weights pretrained` use; null when none is published.
            var published = PretrainedWeights.Find(WeightFormat.TorchVision, spec.Variant);
            return new(spec.Variant.Name, spec.Variant.WidthMultiplier, spec.Variant.DepthMultiplier,
                spec.Resolution, spec.Dropout, spec.StemChannels, spec.HeadChannels, spec.Blocks.Count,
                string.Join(" ", spec.Stages.Select(s => $"{s[0].OutputChannels}x{s.Count}")),
                spec.ParameterCount, spec.MultiplyAccumulates(), spec.FinalFeatureMapSize(spec.Resolution), published?.Top1, published?.Top5);
        }
    }

    private static void PrintJson(IReadOnlyList<Row> rows)
    {
        using var stream = Console.OpenStandardOutput();
        using (var writer = new Utf8JsonWriter(stream, Microsoft.ML.EfficientNet.IO.JsonFormat.Writer))
        {
            writer.WriteStartArray();
            foreach (var r in rows)
            {
                writer.WriteStartObject();
                writer.WriteString("name", r.Name);
                writer.WriteNumber("width", r.Width);
                writer.WriteNumber("depth", r.Depth);
                writer.WriteNumber("resolution", r.Resolution);
                writer.WriteNumber("dropout", Math.Round(r.Dropout, 6));
                writer.WriteNumber("params", r.Params);
                writer.WriteNumber("macs", r.Macs);
                writer.WriteNumber("stem", r.Stem);
                writer.WriteNumber("head", r.Head);
                writer.WriteNumber("blocks", r.Blocks);
                writer.WriteString("stages", r.Stages);
                writer.WriteNumber("final_feature_map", r.FinalMap);
                WriteNullable(writer, "top1", r.Top1);
                WriteNullable(writer, "top5", r.Top5);
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
        }
        stream.WriteByte((byte)'\n');

        static void WriteNullable(Utf8JsonWriter writer, string name, double? value)
        {
            if (value is { } v) writer.WriteNumber(name, v);
            else writer.WriteNull(name);
        }
    }

    private static void PrintTable(IReadOnlyList<Row> rows)
    {
        // A redirected stdout has no width; keep the table on one line per variant instead of wrapping at 80 columns.
        if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = 240;
        var table = new Table().Border(TableBorder.Markdown);
        foreach (string column in (string[])["variant", "width", "depth", "res", "dropout", "stem", "stages 1–7 (out x repeats)", "head", "blocks", "params", "GMACs", "top-1 %", "top-5 %"])
            table.AddColumn(new TableColumn(column));
        var c = CultureInfo.InvariantCulture;
        foreach (var r in rows)
        {
            table.AddRow(r.Name, r.Width.ToString("0.###", c), r.Depth.ToString("0.###", c), r.Resolution.ToString(c), r.Dropout.ToString("0.0##", c),
                r.Stem.ToString(c), r.Stages, r.Head.ToString(c), r.Blocks.ToString(c), r.Params.ToString("N0", c), (r.Macs / 1e9).ToString("0.000", c),
                r.Top1?.ToString("0.000", c) ?? "–", r.Top5?.ToString("0.000", c) ?? "–");
        }
        AnsiConsole.Write(table);
    }
}
