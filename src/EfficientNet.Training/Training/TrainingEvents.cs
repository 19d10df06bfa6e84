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
    double ImagesPerSecond, TimeSpan Eta) : TrainingEvent;

/// <summary>After each epoch, with validation metrics.</summary>
/// <param name="Epoch">Zero-based epoch.</param>
/// <param name="Epochs">Epochs in the run.</param>
/// <param name="Metrics">Training and validation metrics.</param>
/// <param name="Elapsed">Time since the run (or resumed run) started.</param>
/// <param name="Eta">Estimated time to the end.</param>
/// <param name="Checkpoint">Folder of the checkpoint written.</param>
/// <param name="IsBest">Whether validation accuracy improved.</param>
public sealed record EpochCompleted(int Epoch, int Epochs, EpochMetrics Metrics, TimeSpan Elapsed, TimeSpan Eta, string Checkpoint, bool IsBest) : TrainingEvent;

/// <summary>Metrics of one epoch.</summary>
/// <param name="Epoch">Zero-based epoch.</param>
/// <param name="TrainLoss">Mean training loss.</param>
/// <param name="TrainAccuracy">Training accuracy (on augmented images).</param>
/// <param name="ValidationLoss">Mean validation cross-entropy (no smoothing), or NaN without validation data.</param>
/// <param name="ValidationAccuracy">Top-1 validation accuracy, or NaN.</param>
/// <param name="ValidationTop5">Top-5 validation accuracy, or NaN.</param>
/// <param name="LearningRate">Head learning rate at the end of the epoch.</param>
/// <param name="Seconds">Wall time of the epoch including validation.</param>
public sealed record EpochMetrics(int Epoch, double TrainLoss, double TrainAccuracy, double ValidationLoss, double ValidationAccuracy,
    double ValidationTop5, double LearningRate, double Seconds);
