using System.CommandLine;
using EfficientNet.Training.Optimizers;
using EfficientNet.Training.Training;
using Microsoft.ML.EfficientNet.Preprocessing;

namespace EfficientNet.Cli.Arguments;

/// <summary>
/// The training flags that <c>train</c> and <c>compare</c> share, each defined once: both commands list them with the
/// same description, read them through <see cref="Read"/> and reject a bad value with the same error.
/// </summary>
internal sealed class TrainingArguments
{
    /// <param name="defaultEpochs">The command's default for --epochs: a single run trains longer than each candidate of a comparison.</param>
    public TrainingArguments(int defaultEpochs)
    {
        Epochs = new("--epochs") { DefaultValueFactory = _ => defaultEpochs, Description = "Passes over the training images." };
        BatchSize = new("--batch-size") { DefaultValueFactory = _ => EfficientNetTrainingOptions.Defaults.BatchSize, Description = "Images per training step." };
        ImageSize = new("--image-size")
        {
            Description = "Network input side in pixels. Default: the variant's resolution (train: the size its --weights file records, when it records one).",
        };
        LearningRate = new("--lr") { DefaultValueFactory = _ => EfficientNetTrainingOptions.Defaults.LearningRate, Description = "Peak learning rate of the classifier." };
        string cosine = ScheduleKinds.ToName(ScheduleKind.CosineWithWarmup);
        Schedule = new("--schedule")
        {
            DefaultValueFactory = _ => cosine,
            Description = "Learning-rate schedule: " + Choices.Alternatives(ScheduleKinds.Names.Select(n => n == cosine ? n + " (with warm-up)" : n).ToList()),
        };
        Warmup = new("--warmup") { DefaultValueFactory = _ => EfficientNetTrainingOptions.Defaults.WarmupFraction, Description = "Warm-up share of the steps." };
        Augment = new("--augment") { DefaultValueFactory = _ => "standard", Description = "Training augmentation: standard, light, shift or none." };
        Mean = new("--mean") { Description = "Normalisation mean, one value or R,G,B on the 0–1 scale. Default: ImageNet's (or the weights')." };
        Std = new("--std") { Description = "Normalisation std, one value or R,G,B." };
        CropFraction = new("--crop-fraction")
        {
            Description = "Evaluation centre crop as a fraction of the resize size (1 = no crop). Default " +
                          PreprocessingRecipe.DefaultCropFraction.ToString(System.Globalization.CultureInfo.InvariantCulture) + ".",
        };
        Seed = new("--seed") { DefaultValueFactory = _ => 0, Description = "Seed of everything random: the split, the initial weights, augmentation and batch order." };
        Threads = new("--threads") { Description = "libtorch threads. Default: one per logical processor." };
        NoResume = new("--no-resume") { Description = "Start over even if the output folder holds a checkpoint or a saved result of the same settings." };
    }

    public Option<int> Epochs { get; }

    public Option<int> BatchSize { get; }

    public Option<int?> ImageSize { get; }

    public Option<double> LearningRate { get; }

    public Option<string> Schedule { get; }

    public Option<double> Warmup { get; }

    public Option<string> Augment { get; }

    public Option<string?> Mean { get; }

    public Option<string?> Std { get; }

    public Option<double?> CropFraction { get; }

    public Option<int> Seed { get; }

    public Option<int?> Threads { get; }

    public Option<bool> NoResume { get; }

    /// <summary>The flags, in the order the commands list them.</summary>
    public IReadOnlyList<Option> All =>
        [Epochs, BatchSize, ImageSize, LearningRate, Schedule, Warmup, Augment, Mean, Std, CropFraction, Seed, Threads, NoResume];

    /// <summary>The flags' values, checked before any data is opened.</summary>
    /// <exception cref="ArgumentException">A value is out of range or does not parse; the message names the flag, what it must be and what it got.</exception>
    public TrainingValues Read(ParseResult result)
    {
        int epochs = result.GetValue(Epochs);
        if (epochs < 1) throw new ArgumentException($"--epochs must be at least 1; got {epochs}.");
        int batchSize = result.GetValue(BatchSize);
        if (batchSize < 2) throw new ArgumentException($"--batch-size must be at least 2 (batch norm needs two images per step); got {batchSize}.");
        int? imageSize = result.GetValue(ImageSize);
        if (imageSize is < 32) throw new ArgumentException($"--image-size must be at least 32 pixels (the network's total stride); got {imageSize}.");
        double learningRate = result.GetValue(LearningRate);
        if (!(learningRate > 0) || !double.IsFinite(learningRate)) throw new ArgumentException(FormattableString.Invariant($"--lr must be a positive number; got {learningRate}."));
        double warmup = result.GetValue(Warmup);
        if (!(warmup >= 0 && warmup < 1)) throw new ArgumentException(FormattableString.Invariant($"--warmup must be in [0, 1); got {warmup}."));
        int? threads = result.GetValue(Threads);
        if (threads is < 1) throw new ArgumentException($"--threads must be at least 1; got {threads}.");
        string? mean = result.GetValue(Mean), std = result.GetValue(Std);
        double? cropFraction = result.GetValue(CropFraction);
        return new TrainingValues
        {
            Epochs = epochs,
            BatchSize = batchSize,
            ImageSize = imageSize,
            LearningRate = learningRate,
            Schedule = Choices.ParseName(result.GetValue(Schedule)!, "--schedule", ScheduleKinds.Names, ScheduleKinds.Parse),
            WarmupFraction = warmup,
            Augmentation = Choices.ParseEnum<AugmentationPreset>(result.GetValue(Augment)!, "--augment"),
            Mean = mean is null ? null : RecipeArguments.ParseMean(mean),
            Std = std is null ? null : RecipeArguments.ParseStd(std),
            CropFraction = cropFraction is { } fraction ? RecipeArguments.CheckCropFraction(fraction) : null,
            Seed = result.GetValue(Seed),
            Threads = threads,
            Resume = !result.GetValue(NoResume),
        };
    }
}

/// <summary>The checked values of <see cref="TrainingArguments"/>.</summary>
internal sealed record TrainingValues
{
    public required int Epochs { get; init; }

    public required int BatchSize { get; init; }

    public required int? ImageSize { get; init; }

    public required double LearningRate { get; init; }

    public required ScheduleKind Schedule { get; init; }

    public required double WarmupFraction { get; init; }

    public required AugmentationPreset Augmentation { get; init; }

    public required RgbValues? Mean { get; init; }

    public required RgbValues? Std { get; init; }

    public required double? CropFraction { get; init; }

    public required int Seed { get; init; }

    public required int? Threads { get; init; }

    public required bool Resume { get; init; }

    /// <summary>
    /// Sets the options every trained model takes from these flags: batch size, learning rate, schedule, warm-up,
    /// augmentation and, when --mean, --std or --crop-fraction is given, the preprocessing recipe at the options' image
    /// size. The run-level values (epochs, image size, seed, threads, resume) are the command's to place.
    /// </summary>
    /// <exception cref="ArgumentException">A recipe flag is given but the options have no image size.</exception>
    public void ApplyTo(EfficientNetTrainingOptions options)
    {
        options.BatchSize = BatchSize;
        options.LearningRate = LearningRate;
        options.Schedule = Schedule;
        options.WarmupFraction = WarmupFraction;
        options.Augmentation = Augmentation;
        if (Mean is not null || Std is not null || CropFraction is not null)
        {
            int size = options.ImageSize ?? throw new ArgumentException("--mean, --std and --crop-fraction need --image-size.");
            options.Recipe = PreprocessingRecipe.Centered(size, CropFraction ?? PreprocessingRecipe.DefaultCropFraction, Mean ?? PreprocessingRecipe.ImageNetMean, Std ?? PreprocessingRecipe.ImageNetStd);
        }
    }
}
