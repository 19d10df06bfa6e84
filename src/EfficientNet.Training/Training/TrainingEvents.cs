using Microsoft.ML.EfficientNet.Evaluation;

namespace EfficientNet.Training.Training;

/// <summary>Progress of a run, reported through <see cref="EfficientNetTrainingOptions.Progress"/>.</summary>
public abstract record TrainingEvent;

/// <summary>After each optimisation step.</summary>
/// <param name="Epoch">Zero-based epoch.</param>
/// <param name="Step">One-based step within the epoch.</param>
/// <param name="StepsPerEpoch">Steps in an epoch.</param>
/// <param name="GlobalStep">Steps since the start of the run.</param>
/// <param name="Loss">Loss of this step's batch.</param>
/// <param name="Accuracy">Running training accuracy of the epoch, in [0, 1].</param>
/// <param name="LearningRate">Head learning rate used.</param>
/// <param name="ImagesPerSecond">Training throughput over the epoch so far.</param>
/// <param name="Eta">Estimated time to the end of the run.</param>
public sealed record StepCompleted(int Epoch, int Step, int StepsPerEpoch, long GlobalStep, double Loss, double Accuracy, double LearningRate,
    double ImagesPerSecond, TimeSpan Eta) : TrainingEvent
{
    /// <summary>
    /// Mean loss per image of the epoch so far, as a PyTorch loop that sums <c>loss.item() * batch</c> reports it: at the
    /// last step, the epoch's <see cref="EpochMetrics.TrainLoss"/>. Steadier than <see cref="Loss"/>, one batch's.
    /// </summary>
    public double MeanLoss { get; init; } = double.NaN;
}

/// <summary>After each epoch, with validation metrics.</summary>
/// <param name="Epoch">Zero-based epoch.</param>
/// <param name="Epochs">Epochs in the run.</param>
/// <param name="Metrics">Training and validation metrics.</param>
/// <param name="Elapsed">Time since the run (or resumed run) started.</param>
/// <param name="Eta">Estimated time to the end.</param>
/// <param name="Checkpoint">Folder of the checkpoint written.</param>
/// <param name="IsBest">Whether this epoch is the best so far (<see cref="KeptModel.Best"/>'s rule: higher validation accuracy, a tie broken by lower validation loss, then by the later epoch).</param>
public sealed record EpochCompleted(int Epoch, int Epochs, EpochMetrics Metrics, TimeSpan Elapsed, TimeSpan Eta, string Checkpoint, bool IsBest) : TrainingEvent;

/// <summary>Metrics of one epoch.</summary>
/// <param name="Epoch">Zero-based epoch.</param>
/// <param name="TrainLoss">Mean training loss per image (label-smoothed cross-entropy, as PyTorch's <c>CrossEntropyLoss</c> averages it), over the epoch's steps.</param>
/// <param name="TrainAccuracy">Training accuracy (on augmented images).</param>
/// <param name="ValidationLoss">Mean validation cross-entropy (no smoothing), or NaN without validation data.</param>
/// <param name="ValidationAccuracy">Top-1 validation accuracy, or NaN.</param>
/// <param name="ValidationTop5">Top-5 validation accuracy, or NaN (without validation data, and with five classes or fewer, where it is always 100 %).</param>
/// <param name="LearningRate">Head learning rate at the end of the epoch.</param>
/// <param name="Seconds">Wall time of the epoch including validation.</param>
public sealed record EpochMetrics(int Epoch, double TrainLoss, double TrainAccuracy, double ValidationLoss, double ValidationAccuracy,
    double ValidationTop5, double LearningRate, double Seconds)
{
    /// <summary>The validation accuracy against chance (its 95 % interval, the majority-class rate, collapsed predictions), or null without validation data.</summary>
    public ChanceAssessment? Chance { get; init; }
}
