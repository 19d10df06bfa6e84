using System.Text.Json;

namespace EfficientNet.Training.Training;

/// <summary>
/// A run's <c>training.json</c> (<see cref="Microsoft.ML.EfficientNet.IO.RunFolder.SummaryPath"/>): how it ended, what
/// it trained on and the metrics of every epoch, one-based and with null for metrics a run without validation data lacks.
/// </summary>
internal static class RunSummary
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>Writes the summary of <paramref name="result"/>.</summary>
    /// <param name="path">The file.</param>
    /// <param name="result">The run's outcome.</param>
    /// <param name="variant">The variant's name.</param>
    /// <param name="imageSize">Network input side in pixels.</param>
    /// <param name="trainImages">Training images.</param>
    /// <param name="validationImages">Validation images (0 without validation data).</param>
    public static void Write(string path, TrainingResult result, string variant, int imageSize, int trainImages, int validationImages)
    {
        File.WriteAllText(path, JsonSerializer.Serialize(new
        {
            status = result.Status.ToString(),
            message = result.Message,
            variant,
            imageSize,
            classes = result.Classes,
            trainImages,
            validationImages,
            bestEpoch = result.BestEpoch + 1,
            bestAccuracy = double.IsFinite(result.BestAccuracy) ? result.BestAccuracy : (double?)null,
            history = result.History.Select(h => new { epoch = h.Epoch + 1, h.TrainLoss, h.TrainAccuracy, ValidationLoss = Finite(h.ValidationLoss), ValidationAccuracy = Finite(h.ValidationAccuracy), h.LearningRate, h.Seconds }),
        }, Indented));

        static double? Finite(double v) => double.IsFinite(v) ? v : null;
    }
}
