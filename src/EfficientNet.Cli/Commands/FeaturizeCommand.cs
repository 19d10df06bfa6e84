using System.CommandLine;
using EfficientNet.Cli.Arguments;
using EfficientNet.Cli.Output;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.IO;
using Microsoft.ML.EfficientNet.Onnx;
using Microsoft.ML.EfficientNet.Scoring;
using Microsoft.ML.EfficientNet.Weights;
using Parquet.Serialization;

namespace EfficientNet.Cli.Commands;

/// <summary>
/// <c>efficientnet featurize</c>: one row per image with its path and its pooled EfficientNet features, computed by the
/// ML.NET featurizer (<c>mlContext.Transforms.EfficientNetFeaturizer</c>, batched path). Weights as the featurizer
/// resolves them: <c>--weights FILE</c>, else torchvision's published file from the cache (downloaded once); seeded random
/// weights only with <c>--random-weights</c>. A weights file a training run wrote brings its variant and preprocessing
/// (<see cref="RecipeMetadata"/>), so its features equal those of the run's <c>model.onnx</c>; <c>--resolution</c>
/// overrides the image size (a note says so) and keeps the mean and std. CSV: <c>path,error,f0…f{N−1}</c>. Parquet: <c>path</c> (string),
/// <c>error</c> (string, null when featurized) and <c>features</c> (a list of float32: array&lt;float&gt; in Spark, one
/// NumPy array per row in pandas). An image that cannot be read keeps its row with <c>error</c> set and NaN (CSV: empty)
/// features. Exit code as <c>predict</c>: 0, 2 when some images failed, 1 for a bad argument.
/// </summary>
internal static class FeaturizeCommand
{
    public static Command Create()
    {
        var images = ImageArguments.Images();
        var variant = new Option<string?>("--variant") { Description = "b0 … b7, v2-s, v2-m, v2-l, lite0 … lite4. Default: the variant --weights records, else b0." };
        var weights = new Option<string?>("--weights") { Description = "A checkpoint (.pth, .safetensors) or a features .onnx model (export --features-only). Default: pretrained (torchvision ImageNet, cached, downloaded once)." };
        var format = WeightsArguments.Format();
        var randomWeights = new Option<bool>("--random-weights") { Description = "Seeded random weights instead of published ones (tests and demonstrations only)." };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 0, Description = "Seed of --random-weights." }.Whole();
        var resolution = RecipeArguments.Resolution();
        var batchSize = ScoringArguments.BatchSize(EfficientNetFeaturizerOptions.Defaults.BatchSize);
        var output = new Option<string>("--output", "-o") { Description = "The .csv or .parquet file to write (chosen by the extension).", Required = true };
        var exifOrientation = DataArguments.ApplyExifOrientation();
        var command = new Command("featurize", "Pooled EfficientNet features of images, one row per image, as CSV or Parquet.")
        {
            images, variant, weights, format, randomWeights, seed, resolution, batchSize, output, exifOrientation,
        };
        command.SetAction(result =>
        {
            string outputPath = result.GetValue(output)!;
            string kind = OutputArguments.Format(outputPath, "--output", ".csv", ".parquet");
            string? weightsArgument = result.GetValue(weights);
            OutputArguments.RefuseInput(outputPath, "--output", (weightsArgument, "--weights"), (result.GetValue(images), "--images"));
            var files = ImageArguments.List(result.GetValue(images)!);
            bool pretrained = weightsArgument is null || weightsArgument.Equals("pretrained", StringComparison.OrdinalIgnoreCase);
            if (!pretrained && !File.Exists(weightsArgument)) throw new FileNotFoundException($"Weights file '{weightsArgument}' does not exist.", weightsArgument);
            var recorded = pretrained ? null : RecipeMetadata.Read(Path.GetFullPath(weightsArgument!));
            // The variant the weights record: a training run's safetensors, or an exported ONNX model.
            string? recordedVariant = recorded?.Variant ??
                (!pretrained && weightsArgument!.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) ? OnnxModelMetadata.Read(weightsArgument).Variant : null);
            var chosen = EfficientNetVariant.Parse(result.GetValue(variant) ?? (EfficientNetVariant.TryParse(recordedVariant, out var named) ? named.Name : "b0"));
            if (recorded is not null && result.GetValue(resolution) is { } size && size >= 32)
                RecipeArguments.ReportOverride($"--resolution {size}", Path.GetFullPath(weightsArgument!), recorded, recorded.Preprocessing.WithCropSize(size));
            if (result.GetValue(randomWeights) && weightsArgument is not null) throw new ArgumentException("Give either --weights or --random-weights, not both.");
            int batch = ScoringArguments.Read(result, batchSize);

            var errors = new RowErrors();
            var options = new EfficientNetFeaturizerOptions
            {
                WeightsPath = pretrained ? null : Path.GetFullPath(weightsArgument!),
                WeightFormat = WeightsArguments.ParseFormat(result.GetValue(format)),
                UseRandomWeights = result.GetValue(randomWeights),
                RandomSeed = result.GetValue(seed),
                Resolution = result.GetValue(resolution),
                BatchSize = batch,
                ApplyExifOrientation = result.GetValue(exifOrientation),
                Logger = errors,
            };
            var ml = new MLContext(seed: 0);
            var data = ml.Data.LoadFromEnumerable(files.Select(p => new PathRow { Path = Path.GetFullPath(p) }).ToList());
            using var featurizer = ml.Transforms.EfficientNetFeaturizer(chosen.Name, "Features", nameof(PathRow.Path), options).Fit(data);
            var featured = featurizer.Transform(data);
            int width = featurizer.Metadata.FeatureWidth;

            var rows = new List<FeatureRow>(files.Count);
            using (var cursor = featured.GetRowCursor(featured.Schema))
            {
                var getFeatures = cursor.GetGetter<VBuffer<float>>(featured.Schema["Features"]);
                VBuffer<float> buffer = default;
                int i = 0;
                while (cursor.MoveNext())
                {
                    getFeatures(ref buffer);
                    var values = buffer.DenseValues().ToArray();
                    // The featurizer marks an unreadable image with NaN features and logs why.
                    string? error = values.Length > 0 && float.IsNaN(values[0]) ? errors.For(i) ?? "the image could not be read" : null;
                    rows.Add(new FeatureRow { Path = files[i], Error = error, Features = values });
                    i++;
                }
            }

            if (kind == ".parquet")
            {
                var metadata = new Dictionary<string, string>
                {
                    ["variant"] = featurizer.Metadata.Variant,
                    ["feature_width"] = width.ToString(CultureInfo.InvariantCulture),
                    ["resolution"] = featurizer.Metadata.Resolution.ToString(CultureInfo.InvariantCulture),
                    ["weight_file"] = featurizer.Metadata.WeightFile,
                    ["weight_sha256"] = featurizer.Metadata.WeightSha256,
                };
                AtomicFile.Write(outputPath, s => ParquetSerializer.SerializeAsync(rows, s, customMetadata: metadata).GetAwaiter().GetResult());
            }
            else
            {
                AtomicFile.Write(outputPath, s => WriteCsv(s, rows, width));
            }
            int failed = rows.Count(r => r.Error is not null);
            foreach (var r in rows.Where(r => r.Error is not null)) Terminal.Error("warning", $"{r.Path}: {r.Error}");
            Console.WriteLine(Terminal.Safe(string.Create(CultureInfo.InvariantCulture,
                $"{rows.Count - failed} of {rows.Count} images featurized with EfficientNet-{featurizer.Metadata.Variant} ({width} features, {featurizer.Metadata.Resolution} px, weights {featurizer.Metadata.WeightFile})") +
                (failed > 0 ? string.Create(CultureInfo.InvariantCulture, $"; {failed} failed") : "") + $"; written to {outputPath}."));
            return failed > 0 ? ExitCodes.SomeImagesFailed : 0;
        });
        return command;
    }

    private static void WriteCsv(Stream stream, List<FeatureRow> rows, int width)
    {
        var c = CultureInfo.InvariantCulture;
        using var writer = new StreamWriter(stream, new UTF8Encoding(false), leaveOpen: true);
        writer.WriteLine("path,error," + string.Join(",", Enumerable.Range(0, width).Select(i => "f" + i.ToString(c))));
        var line = new StringBuilder();
        foreach (var r in rows)
        {
            line.Clear().Append(Csv.Field(r.Path)).Append(',').Append(Csv.Field(r.Error ?? ""));
            // "R" round-trips float32 exactly; a failed row's features are left empty (pandas reads NaN).
            foreach (float v in r.Features) line.Append(',').Append(r.Error is null ? v.ToString("R", c) : "");
            writer.WriteLine(line);
        }
    }

    private sealed class PathRow
    {
        public string Path { get; set; } = "";
    }

    /// <summary>One Parquet row; property names are the column names.</summary>
    internal sealed class FeatureRow
    {
        [System.Text.Json.Serialization.JsonPropertyName("path")]
        public string Path { get; set; } = "";

        [System.Text.Json.Serialization.JsonPropertyName("error")]
        public string? Error { get; set; }

        [System.Text.Json.Serialization.JsonPropertyName("features")]
        public float[] Features { get; set; } = [];
    }

    /// <summary>Collects the featurizer's "Row {Row}: … ({Reason})" warnings, so each failed row can say why.</summary>
    private sealed class RowErrors : ILogger
    {
        private readonly Dictionary<long, string> _reasons = [];

        public string? For(long row)
        {
            lock (_reasons) return _reasons.TryGetValue(row, out var reason) ? reason : null;
        }

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel < LogLevel.Warning) return;
            if (state is IReadOnlyList<KeyValuePair<string, object?>> values &&
                values.FirstOrDefault(v => v.Key == "Row").Value is { } row && values.FirstOrDefault(v => v.Key == "Reason").Value is { } reason)
            {
                lock (_reasons) _reasons[Convert.ToInt64(row, CultureInfo.InvariantCulture)] = $"the image could not be read ({reason})";
            }
            else
            {
                Terminal.Error("warning", formatter(state, exception));
            }
        }
    }
}
