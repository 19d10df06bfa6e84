using System.Text.Json;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.IO;
using Microsoft.ML.EfficientNet.Onnx;
using Microsoft.ML.EfficientNet.Preprocessing;
using Microsoft.ML.EfficientNet.Weights;

namespace EfficientNet.Training.Training;

/// <summary>
/// What a run leaves in its <see cref="RunFolder"/> at the end: the kept weights as <c>model.safetensors</c> (the recipe
/// and labels in its metadata, <see cref="TrainingRecipe.Metadata"/>) and <c>model.onnx</c> (logits and features,
/// preprocessing in the graph, labels in the metadata) with <c>labels.txt</c>, and <c>training.json</c>: how it ended,
/// what it started from and trained on, which epoch it exported and whether that model is above chance, and the
/// metrics of every epoch, one-based and with null for metrics a run without validation data lacks.
/// </summary>
internal static class RunExport
{
    private static readonly JsonSerializerOptions Indented = JsonFormat.Indented;

    /// <summary>Exports <see cref="RunFolder.BestWeightsPath"/> when an epoch completed (there are best weights); else nulls.</summary>
    /// <param name="folder">The run folder.</param>
    /// <param name="spec">The trained network.</param>
    /// <param name="source">Its padding and batch-norm conventions.</param>
    /// <param name="recipe">Preprocessing recorded in the ONNX model.</param>
    /// <param name="classes">Class names in label order.</param>
    public static (string? OnnxPath, string? WeightsPath, EfficientNetCheckpoint? Weights) ExportBest(RunFolder folder, EfficientNetSpec spec, WeightSource source,
        PreprocessingRecipe recipe, IReadOnlyList<string> classes)
    {
        if (!File.Exists(folder.BestWeightsPath)) return (null, null, null);
        // Written again rather than copied, so the recipe is recorded even when the best weights came from a run that
        // recorded none. Every file of the run folder is written atomically: a kill or a full disk leaves the old or the new one.
        var best = SafeTensorsFile.Read(folder.BestWeightsPath);
        SafeTensorsFile.Write(folder.WeightsPath, best.Entries, TrainingRecipe.Metadata(spec, source, recipe, classes));
        var checkpoint = EfficientNetCheckpoint.FromCanonical(spec, SafeTensorsFile.Read(folder.WeightsPath), source);
        EfficientNetOnnxExporter.Export(checkpoint, folder.ModelPath, new OnnxExportOptions
        {
            Outputs = OnnxOutputs.LogitsAndFeatures,
            Preprocessing = recipe,
            Labels = classes,
        });
        AtomicFile.WriteAllBytes(folder.LabelsPath, System.Text.Encoding.UTF8.GetBytes(string.Join('\n', classes) + '\n'));
        return (folder.ModelPath, folder.WeightsPath, checkpoint);
    }

    /// <summary>Writes the summary of <paramref name="result"/>.</summary>
    /// <param name="path">The file.</param>
    /// <param name="result">The run's outcome.</param>
    /// <param name="variant">The variant's name.</param>
    /// <param name="imageSize">Network input side in pixels.</param>
    /// <param name="trainImages">Training images.</param>
    /// <param name="validationImages">Validation images (0 without validation data).</param>
    /// <param name="initialWeights">What the run started from: <c>pretrained</c>, a checkpoint file, or null (from scratch).</param>
    /// <param name="keep">The rule that chose the exported epoch.</param>
    /// <param name="data">Where the training images came from; null when unknown.</param>
    public static void WriteSummary(string path, TrainingResult result, string variant, int imageSize, int trainImages, int validationImages,
        string? initialWeights, KeptModel keep, TrainingDataSource? data)
    {
        // chance_accuracy (the majority-class rate), above_chance and collapsed judge the exported model's validation
        // accuracy (ChanceAssessment); null without validation data.
        AtomicFile.WriteAllBytes(path, JsonSerializer.SerializeToUtf8Bytes(new
        {
            status = result.Status.ToString(),
            message = result.Message,
            variant,
            imageSize,
            initialWeights,
            classes = result.Classes,
            data = data is null ? null : new { source = data.Source, fashionMnistLabels = data.FashionMnistLabels, perClass = data.PerClass },
            trainImages,
            validationImages,
            bestEpoch = result.BestEpoch + 1,
            bestAccuracy = double.IsFinite(result.BestAccuracy) ? result.BestAccuracy : (double?)null,
            keep = keep.ToString().ToLowerInvariant(),
            keptEpoch = result.KeptEpoch >= 0 ? result.KeptEpoch + 1 : (int?)null,
            chance_accuracy = result.Chance is { Count: > 0 } chance ? chance.ChanceAccuracy : (double?)null,
            above_chance = result.Chance is { Count: > 0 } ? result.Chance.AboveChance : (bool?)null,
            collapsed = result.Chance is { Count: > 0 } ? result.Chance.Collapsed : (bool?)null,
            history = result.History.Select(h => new { epoch = h.Epoch + 1, h.TrainLoss, h.TrainAccuracy, ValidationLoss = Finite(h.ValidationLoss), ValidationAccuracy = Finite(h.ValidationAccuracy), h.LearningRate, h.Seconds }),
        }, Indented));

        static double? Finite(double v) => double.IsFinite(v) ? v : null;
    }
}
