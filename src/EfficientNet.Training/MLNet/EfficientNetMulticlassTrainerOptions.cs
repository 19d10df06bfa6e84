using EfficientNet.Training.Training;
using Microsoft.ML;

namespace EfficientNet.Training.MLNet;

/// <summary>
/// Options of <see cref="EfficientNetMulticlassTrainer"/>: the columns and validation data below, and every
/// <see cref="EfficientNetTrainingOptions"/> property (variant, epochs, learning rates, optimiser, schedule, augmentation,
/// EMA …) with the defaults documented there. Each property documents its default.
/// </summary>
public sealed class EfficientNetMulticlassTrainerOptions : EfficientNetTrainingOptions
{
    /// <summary>Key-typed label column. Default <c>Label</c>.</summary>
    public string LabelColumnName { get; set; } = "Label";

    /// <summary>Image column (<c>MLImage</c>, from <c>LoadImages</c>). Default <c>Image</c>.</summary>
    public string ImageColumnName { get; set; } = "Image";

    /// <summary>Output: per-class probabilities. Default <c>Score</c>.</summary>
    public string ScoreColumnName { get; set; } = "Score";

    /// <summary>Output: the most probable class as a key of the label's type. Default <c>PredictedLabel</c>.</summary>
    public string PredictedLabelColumnName { get; set; } = "PredictedLabel";

    /// <summary>Validation data with the same columns. Default null: a seeded split of the training data (<see cref="EfficientNetTrainingOptions.ValidationFraction"/>, 10 %).</summary>
    public IDataView? ValidationSet { get; set; }

    /// <summary>
    /// Changes the training options of each <c>Fit</c> after the properties are applied (the options can also be set
    /// directly on this object). Default null.
    /// </summary>
    public Action<EfficientNetTrainingOptions>? Configure { get; set; }

    /// <summary>The options of one training run: a copy of these, then <see cref="Configure"/>, which therefore does not change this object.</summary>
    internal EfficientNetTrainingOptions ToTrainingOptions()
    {
        var options = Copy();
        Configure?.Invoke(options);
        return options;
    }
}
