using Microsoft.ML.EfficientNet.Evaluation;
using Microsoft.ML.EfficientNet.Preprocessing;
using Microsoft.ML.EfficientNet.Weights;

namespace EfficientNet.Training.Training;

/// <summary>How a run ended.</summary>
public enum TrainingStatus
{
    /// <summary>All epochs ran.</summary>
    Completed,

    /// <summary>Validation accuracy stopped improving (early stopping).</summary>
    EarlyStopped,

    /// <summary>Cancelled (Ctrl+C): a checkpoint of the last step was saved; running again resumes from it.</summary>
    Cancelled,

    /// <summary>The loss became NaN or infinite; the last good checkpoint was kept.</summary>
    Diverged,
}

/// <summary>The outcome of a training run (<see cref="MLNet.EfficientNetMulticlassModel.Training"/> for the ML.NET trainer).</summary>
public sealed record TrainingResult
{
    /// <summary>How the run ended.</summary>
    public required TrainingStatus Status { get; init; }

    /// <summary>A sentence for people: what happened and what to do next.</summary>
    public required string Message { get; init; }

    /// <summary>Metrics of every completed epoch, resumed ones included.</summary>
    public required IReadOnlyList<EpochMetrics> History { get; init; }

    /// <summary>
    /// Zero-based epoch with the best validation accuracy, a tie broken by lower validation loss, then by the later epoch
    /// (the last epoch without validation data); −1 when none completed.
    /// </summary>
    public required int BestEpoch { get; init; }

    /// <summary>
    /// Zero-based epoch whose weights were exported: <see cref="BestEpoch"/> with <see cref="KeptModel.Best"/>, the last
    /// completed epoch with <see cref="KeptModel.Last"/>; −1 when none completed.
    /// </summary>
    public int KeptEpoch { get; init; } = -1;

    /// <summary>The exported model's validation accuracy against chance (from its epoch), or null without validation data or a completed epoch.</summary>
    public ChanceAssessment? Chance { get; init; }

    /// <summary>
    /// When the exported model is no better than guessing (<see cref="ChanceAssessment.AtChance"/>): a sentence with the
    /// numbers, the likely cause and what to do, also logged as a warning; else null.
    /// </summary>
    public string? ChanceWarning { get; init; }

    /// <summary>Best validation accuracy, NaN without validation data.</summary>
    public required double BestAccuracy { get; init; }

    /// <summary>Class names in label order.</summary>
    public required IReadOnlyList<string> Classes { get; init; }

    /// <summary>Preprocessing recorded in the exported model.</summary>
    public required PreprocessingRecipe Recipe { get; init; }

    /// <summary>The run's folder (checkpoints, exported model).</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>The exported ONNX model (logits and features, preprocessing in the graph, labels in metadata), or null when no epoch completed.</summary>
    public string? OnnxPath { get; init; }

    /// <summary>The exported weights as canonical (torchvision-named) safetensors, or null.</summary>
    public string? WeightsPath { get; init; }

    /// <summary>The exported weights, ready for <c>EfficientNetOnnxExporter</c> or <c>ModelWeights.CreateModel</c>, or null.</summary>
    internal EfficientNetCheckpoint? Weights { get; init; }

}
