using EfficientNet.Training.Training;
using Microsoft.Extensions.Logging;
using Microsoft.ML;

namespace EfficientNet.Training.MLNet;

/// <summary>Options of <see cref="EfficientNetMulticlassTrainer"/>; each property documents its default.</summary>
public sealed class EfficientNetMulticlassTrainerOptions
{
    /// <summary>Key-typed label column. Default <c>Label</c>.</summary>
    public string LabelColumnName { get; set; } = "Label";

    /// <summary>Image column (<c>MLImage</c>, from <c>LoadImages</c>). Default <c>Image</c>.</summary>
    public string ImageColumnName { get; set; } = "Image";

    /// <summary>Output: per-class probabilities. Default <c>Score</c>.</summary>
    public string ScoreColumnName { get; set; } = "Score";

    /// <summary>Output: the most probable class as a key of the label's type. Default <c>PredictedLabel</c>.</summary>
    public string PredictedLabelColumnName { get; set; } = "PredictedLabel";

    /// <summary>Variant, <c>b0</c> … <c>b7</c>. Default <c>b0</c>.</summary>
    public string Variant { get; set; } = EfficientNetTrainingOptions.Defaults.Variant;

    /// <summary>Passes over the data. Default 10.</summary>
    public int Epochs { get; set; } = EfficientNetTrainingOptions.Defaults.Epochs;

    /// <summary>Images per step. Default 32.</summary>
    public int BatchSize { get; set; } = EfficientNetTrainingOptions.Defaults.BatchSize;

    /// <summary>Network input side in pixels. Default null: the starting weights' size, or the variant's resolution.</summary>
    public int? ImageSize { get; set; }

    /// <summary>Peak learning rate of the classifier. Default 1e-3.</summary>
    public double LearningRate { get; set; } = EfficientNetTrainingOptions.Defaults.LearningRate;

    /// <summary>Peak learning rate of the backbone. Default null: <see cref="LearningRate"/> from scratch, a tenth of it from weights.</summary>
    public double? BackboneLearningRate { get; set; }

    /// <summary>Which parameters train. Default <see cref="TrainingMode.Full"/>.</summary>
    public TrainingMode Mode { get; set; } = TrainingMode.Full;

    /// <summary>Starting weights: null (default) from scratch, <c>pretrained</c> for torchvision's ImageNet weights, or a checkpoint file.</summary>
    public string? InitialWeights { get; set; }

    /// <summary>Validation data with the same columns. Default null: a seeded 10 % split of the training data.</summary>
    public IDataView? ValidationSet { get; set; }

    /// <summary><c>cpu</c> (default), <c>cuda</c> or <c>cuda:N</c>.</summary>
    public string Device { get; set; } = "cpu";

    /// <summary>Seed of everything random. Default 0.</summary>
    public int Seed { get; set; }

    /// <summary>Run folder for checkpoints and the exported model. Default null: a new temporary folder.</summary>
    public string? OutputDirectory { get; set; }

    /// <summary>Called after every step and epoch. Default null.</summary>
    public Action<TrainingEvent>? Progress { get; set; }

    /// <summary>Receives one line per epoch and warnings. Default null.</summary>
    public ILogger? Logger { get; set; }

    /// <summary>Sets any other <see cref="EfficientNetTrainingOptions"/> (optimiser, schedule, augmentation, EMA …) after the properties above are applied. Default null.</summary>
    public Action<EfficientNetTrainingOptions>? Configure { get; set; }

    internal EfficientNetTrainingOptions ToTrainingOptions()
    {
        var options = new EfficientNetTrainingOptions
        {
            Variant = Variant,
            Epochs = Epochs,
            BatchSize = BatchSize,
            ImageSize = ImageSize,
            LearningRate = LearningRate,
            BackboneLearningRate = BackboneLearningRate,
            Mode = Mode,
            InitialWeights = InitialWeights,
            Device = Device,
            Seed = Seed,
            OutputDirectory = OutputDirectory,
            Progress = Progress,
            Logger = Logger,
        };
        Configure?.Invoke(options);
        return options;
    }
}
