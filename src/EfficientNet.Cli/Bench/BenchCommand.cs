using System.CommandLine;
using System.Text;
using System.Text.Json;
using EfficientNet.Cli.Bench.Images;
using EfficientNet.Cli.Bench.Reporting;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.IO;
using Spectre.Console;

namespace EfficientNet.Cli.Bench;

/// <summary>
/// <c>efficientnet bench</c>: one run, one table, ratios. The featurizer (fp32, batched path, path column) at its defaults
/// and its best setting; the plain ML.NET chain as a user runs it (the featurizer's saved model reloaded with
/// <c>Model.Load</c>, row at a time) and ML.NET's <c>ApplyOnnxModel</c> with fixed threads; raw ONNX Runtime on prepared
/// pixels at its default and its best setting (a small grid), for the fp32 model and its int8 quantisation; our
/// <c>--bare</c> file against <c>torch.onnx.export</c>'s of torchvision's model under the same settings, and PyTorch eager,
/// when Debian's python3-torch is present; ML.NET's <c>DnnFeaturizeImage</c> ResNet18; a per-variant table; start-up from
/// <c>Fit</c> to the first feature. Every peer is compared at its best configuration (one class per peer in
/// <c>Bench/Peers</c>; <see cref="BenchRun"/> runs them). Optionally writes the tables between the markers of
/// <see cref="BenchSection"/> in a markdown file, and a JSON file. This class holds only the options.
/// </summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var variant = new Option<string>("--variant") { DefaultValueFactory = _ => "b0", Description = "Variant of the main table." };
        var images = new Option<string?>("--images") { Description = "A folder of JPEGs. Default: 500×375 JPEGs generated with SkiaSharp (seeded gradients and noise, quality 90) into --generated-images." };
        var count = new Option<int>("--count") { DefaultValueFactory = _ => 160, Description = "Images per pass." };
        var runs = new Option<int>("--runs") { DefaultValueFactory = _ => 3, Description = "Timed passes per row (after one untimed); the best counts." };
        var variants = new Option<string?>("--variants") { Description = "Variants of the per-variant table, comma-separated (b0,b1,…,b7, v2-s, …). Default: b0 … b7 at 128 px (at their published sizes when --variants is given without --resolution)." };
        var resolution = new Option<int?>("--resolution") { Description = "Network input side for every row. Default: the variant's published crop (224 for B0); 128 px for the per-variant table when --variants is not given." };
        var output = new Option<string?>("--output") { Description = "A markdown file (e.g. docs/BENCHMARKS.md) whose bench section is written or replaced." };
        var json = new Option<string?>("--json") { Description = "A JSON file with every figure." };
        var generatedImages = new Option<string>("--generated-images") { DefaultValueFactory = _ => Path.Combine("artifacts", "bench-images-generated"), Description = "Where the generated JPEGs are kept (made once) when --images is not given." };
        var skipDnn = new Option<bool>("--skip-dnn") { Description = "Leave out ML.NET's DnnFeaturizeImage ResNet18 row." };
        var command = new Command("bench", "Featurizer vs the plain ML.NET chain, raw ONNX Runtime and DnnFeaturizeImage, each at its best; per-variant speed; start-up.")
        {
            variant, images, count, runs, variants, resolution, output, json, generatedImages, skipDnn,
        };
        command.SetAction(result =>
        {
            int n = result.GetValue(count), r = result.GetValue(runs);
            if (n < 1) throw new ArgumentException($"--count must be at least 1; got {n}.");
            if (r < 1) throw new ArgumentException($"--runs must be at least 1; got {r}.");
            if (result.GetValue(resolution) is < 32) throw new ArgumentException("--resolution must be at least 32.");
            var main = EfficientNetVariant.Parse(result.GetValue(variant)!);
            string? variantList = result.GetValue(variants);
            var table = (variantList ?? "b0,b1,b2,b3,b4,b5,b6,b7").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(EfficientNetVariant.Parse).ToList();
            int? variantResolution = result.GetValue(resolution) ?? (variantList is null ? 128 : null);
            var files = BenchImages.Files(result.GetValue(images), result.GetValue(generatedImages)!, n);
            var report = BenchRun.Run(main, files, r, result.GetValue(resolution), table, variantResolution, !result.GetValue(skipDnn), CommandLine(args: Environment.GetCommandLineArgs()));
            BenchConsole.Print(report);
            if (result.GetValue(output) is { } markdown)
            {
                BenchSection.Write(markdown, BenchMarkdown.Section(report));
                AnsiConsole.WriteLine($"Wrote the bench section of {markdown}.");
            }
            if (result.GetValue(json) is { } jsonPath)
            {
                AtomicFile.WriteAllBytes(jsonPath, Encoding.UTF8.GetBytes(JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase })));
                AnsiConsole.WriteLine($"Wrote {jsonPath}.");
            }
            return 0;
        });
        return command;
    }

    private static string CommandLine(string[] args) => "efficientnet " + string.Join(' ', args.Skip(1).Select(a => a.Contains(' ') ? $"\"{a}\"" : a));
}
