namespace EfficientNet.Training.Training;

/// <summary>What one pass over the training batches did, returned by the trainer's epoch loop.</summary>
/// <param name="Epoch">Zero-based epoch.</param>
/// <param name="LossSum">Sum over the images seen of the batch loss (loss × batch size).</param>
/// <param name="Correct">Images whose arg-max logit was the label.</param>
/// <param name="Seen">Images trained on in this pass (a resumed epoch counts only the steps after the checkpoint).</param>
/// <param name="StepsDone">Steps of the epoch done, those before a resumed checkpoint included.</param>
/// <param name="GlobalStep">Steps since the start of the run.</param>
/// <param name="LearningRate">Head learning rate of the last step.</param>
/// <param name="Stop">Why the run stops within this epoch (<see cref="TrainingStatus.Cancelled"/> or <see cref="TrainingStatus.Diverged"/>); null when the epoch completed.</param>
/// <param name="Message">The sentence for people when <paramref name="Stop"/> is set.</param>
internal sealed record EpochResult(int Epoch, double LossSum, long Correct, long Seen, int StepsDone, long GlobalStep, double LearningRate,
    TrainingStatus? Stop = null, string? Message = null)
{
    /// <summary>Mean training loss of the pass, NaN when no image was seen.</summary>
    public double MeanLoss => Seen > 0 ? LossSum / Seen : double.NaN;

    /// <summary>Training accuracy of the pass, NaN when no image was seen.</summary>
    public double Accuracy => Seen > 0 ? Correct / (double)Seen : double.NaN;
}
