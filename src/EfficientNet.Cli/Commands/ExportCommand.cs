using System.CommandLine;
using EfficientNet.Cli.Arguments;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Onnx;
using Microsoft.ML.EfficientNet.Weights;
using Spectre.Console;

namespace EfficientNet.Cli.Commands;

/// <summary>
/// <c>efficientnet export</c>: a checkpoint (.pth or .safetensors, any supported format) to ONNX, written in managed code.
/// The preprocessing built in is the one the weights come with: the recipe a training run's file records (with its
/// labels and variant), else the published one; <c>--resolution</c>, <c>--crop-fraction</c>, <c>--mean</c> and
/// <c>--std</c> change parts of it, and a note says what they change of a recorded recipe.
/// With <c>--bare</c> the file has exactly one input, <c>input</c> [N,3,H,W] float32 already normalised, and one output,
/// <c>logits</c> [N, classes]; other tooling relies on that contract.
/// </summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var variant = new Option<string?>("--variant") { Description = "b0 … b7, v2-s, v2-m, v2-l, lite0 … lite4. Default: the variant the file records, else identified from the checkpoint's shapes." };
        var weights = new Option<FileInfo>("--weights") { Description = "Checkpoint: .pth (torch zip) or .safetensors.", Required = true };
        var format = WeightsArguments.Format();
        var classes = new Option<int?>("--classes") { Description = "Expected classifier outputs; a checkpoint with another count is refused." }.Within(1, OnnxModelMetadata.MaximumClasses);
        var resolution = RecipeArguments.Resolution();
        var mean = RecipeArguments.Mean();
        var std = RecipeArguments.Std();
        var cropFraction = RecipeArguments.CropFraction();
        var features = new Option<bool>("--features") { Description = "Also output 'features' [N, head]: the pooled features before the classifier." };
        var featuresOnly = new Option<bool>("--features-only") { Description = "Output only 'features' (a featurizer; the classifier is not exported)." };
        var bare = new Option<bool>("--bare") { Description = "One input 'input' [N,3,H,W] already normalised, one output 'logits'; no preprocessing in the graph." };
        var labels = new Option<FileInfo?>("--labels") { Description = "Text file with one class label per line, recorded in the model's metadata. Default: the labels the file records." };
        var output = new Option<FileInfo>("--output", "-o") { Description = "The .onnx file to write.", Required = true };
        var command = new Command("export", "Export a checkpoint to ONNX (opset 17, batch norm folded, dynamic batch, fixed H×W).")
        {
            variant, weights, format, classes, resolution, mean, std, cropFraction, features, featuresOnly, bare, labels, output,
        };
        command.SetAction(result =>
        {
            var weightsFile = result.GetValue(weights)!;
            if (!weightsFile.Exists) throw new FileNotFoundException($"Weights file '{weightsFile.FullName}' does not exist.", weightsFile.FullName);
            OutputArguments.RefuseInput(result.GetValue(output)!.FullName, "--output", (weightsFile.FullName, "--weights"), (result.GetValue(labels)?.FullName, "--labels"));
            WeightFormat? weightFormat = WeightsArguments.ParseFormat(result.GetValue(format));
            var stateDict = StateDict.Load(weightsFile.FullName);
            var recorded = RecipeMetadata.FromMetadata(stateDict.Metadata, weightsFile.FullName);
            var chosen = result.GetValue(variant) is { } v ? EfficientNetVariant.Parse(v)
                : (EfficientNetVariant.TryParse(recorded?.Variant, out var named) ? named : null)
                  ?? EfficientNetCheckpoint.IdentifyVariant(stateDict, weightFormat)
                  ?? throw new ArgumentException($"Could not identify the variant of '{weightsFile.Name}' from its shapes; pass --variant.");
            bool wantsFeaturesOnly = result.GetValue(featuresOnly);
            var checkpoint = EfficientNetCheckpoint.FromStateDict(stateDict, chosen, new CheckpointLoadOptions
            {
                Format = weightFormat,
                NumClasses = result.GetValue(classes),
                // A featurizer does not need the classifier, so its class count does not matter.
                ReplaceHead = wantsFeaturesOnly,
            });
            var recipe = RecipeArguments.Apply(checkpoint.Preprocessing, result.GetValue(resolution), result.GetValue(mean), result.GetValue(std), result.GetValue(cropFraction));
            RecipeArguments.ReportOverride(RecipeArguments.Given(("--resolution", result.GetValue(resolution)), ("--crop-fraction", result.GetValue(cropFraction)),
                ("--mean", result.GetValue(mean)), ("--std", result.GetValue(std))), weightsFile.FullName, checkpoint.Recipe, recipe);
            var labelsFile = result.GetValue(labels);
            string[]? labelList = labelsFile is not null ? File.ReadAllLines(labelsFile.FullName).Where(s => s.Length > 0).ToArray() : null;
            if (labelList is not null && checkpoint.Labels is { } recordedLabels && !labelList.SequenceEqual(recordedLabels))
                Console.Error.WriteLine($"note: --labels {labelsFile!.FullName} overrides the labels recorded in '{weightsFile.FullName}' ({string.Join(", ", recordedLabels.Take(5))}{(recordedLabels.Count > 5 ? ", …" : "")}).");
            var options = new OnnxExportOptions
            {
                Bare = result.GetValue(bare),
                Preprocessing = recipe,
                Outputs = wantsFeaturesOnly ? OnnxOutputs.Features : result.GetValue(features) ? OnnxOutputs.LogitsAndFeatures : OnnxOutputs.Logits,
                Labels = labelList,
            };
            var target = result.GetValue(output)!;
            EfficientNetOnnxExporter.Export(checkpoint, target.FullName, options);
            var metadata = OnnxModelMetadata.Read(target.FullName);
            var grid = new Grid().AddColumn().AddColumn();
            void Row(string name, string value) => grid.AddRow(new Text(name), new Text(value));
            Row("model", target.FullName);
            Row("variant", $"{metadata.Variant} ({WeightFormats.ToName(checkpoint.Source.Format)} weights, {checkpoint.Source.Padding} padding, BN eps {checkpoint.Source.BatchNormEpsilon})");
            Row("input", metadata.Bare
                ? $"{OnnxExportOptions.NormalizedInputName} [N, 3, {metadata.InputSize}, {metadata.InputSize}] normalised"
                : $"{OnnxExportOptions.ImageInputName} [N, 3, {metadata.InputSize}, {metadata.InputSize}] RGB 0–255 (crop {metadata.Preprocessing.CropSize}, mean {metadata.Preprocessing.Mean}, std {metadata.Preprocessing.Std})");
            Row("outputs", string.Join(", ", new[]
            {
                options.Outputs.HasFlag(OnnxOutputs.Logits) ? $"{OnnxExportOptions.LogitsOutputName} [N, {metadata.NumClasses}]" : null,
                options.Outputs.HasFlag(OnnxOutputs.Features) ? $"{OnnxExportOptions.FeaturesOutputName} [N, {metadata.FeatureWidth}]" : null,
            }.Where(s => s is not null)));
            Row("size", $"{target.Length / 1e6:F1} MB");
            Row("weights sha256", metadata.WeightSha256);
            AnsiConsole.Write(grid);
            return 0;
        });
        return command;
    }
}
