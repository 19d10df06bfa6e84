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
        Epochs = new Option<int>("--epochs") { DefaultValueFactory = _ => defaultEpochs, Description = "Passes over the training images." }.Within(1);
        BatchSize = new Option<int>("--batch-size") { DefaultValueFactory = _ => EfficientNetTrainingOptions.Defaults.BatchSize, Description = "Images per training step." }
            .Within(2, why: "batch norm needs two images per step");
        ImageSize = new Option<int?>("--image-size")
        {
            Description = "Network input side in pixels. Default: the variant's resolution (train: the size its --weights file records, when it records one).",
        }.Within(PreprocessingRecipe.MinimumInputSize, PreprocessingRecipe.MaximumInputSize, "pixels");
        LearningRate = new Option<double>("--lr") { DefaultValueFactory = _ => EfficientNetTrainingOptions.Defaults.LearningRate, Description = "Peak learning rate of the classifier." }
            .Within(0, double.PositiveInfinity, openMin: true);
        string cosine = ScheduleKinds.ToName(ScheduleKind.CosineWithWarmup);
        Schedule = new("--schedule")
        {
            DefaultValueFactory = _ => cosine,
            Description = "Learning-rate schedule: " + Choices.Alternatives(ScheduleKinds.Names.Select(n => n == cosine ? n + " (with warm-up)" : n).ToList()),
        };
        Warmup = new Option<double>("--warmup") { DefaultValueFactory = _ => EfficientNetTrainingOptions.Defaults.WarmupFraction, Description = "Warm-up share of the steps." }
            .Within(0, 1, openMax: true);
        Augment = new("--augment") { DefaultValueFactory = _ => "standard", Description = "Training augmentation: standard, light, shift or none." };
        Mean = new("--mean") { Description = "Normalisation mean, one value or R,G,B on the 0–1 scale. Default: ImageNet's (or the weights')." };
        Std = new("--std") { Description = "Normalisation std, one value or R,G,B." };
        CropFraction = new Option<double?>("--crop-fraction")
        {
            Description = "Evaluation centre crop as a fraction of the resize size (1 = no crop). Default " +
                          PreprocessingRecipe.DefaultCropFraction.ToString(System.Globalization.CultureInfo.InvariantCulture) + ".",
        }.Within(0, 1, openMin: true);
        Seed = new Option<int>("--seed") { DefaultValueFactory = _ => 0, Description = "Seed of everything random: the split, the initial weights, augmentation and batch order." }.Whole();
        Threads = new Option<int?>("--threads") { Description = "libtorch threads. Default: one per logical processor." }.Within(1, MaxThreads);
        NoResume = new("--no-resume") { Description = "Start over even if the output folder holds a checkpoint or a saved result of the same settings." };
    }

    /// <summary>The most --threads: beyond any machine's logical processors, and a number of threads libtorch can start.</summary>
    private const int MaxThreads = 1024;

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
        // The ranges are checked by the parse (Numbers.Within).
        int epochs = result.GetValue(Epochs), batchSize = result.GetValue(BatchSize);
        int? imageSize = result.GetValue(ImageSize), threads = result.GetValue(Threads);
        double learningRate = result.GetValue(LearningRate), warmup = result.GetValue(Warmup);
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
            CropFraction = cropFraction,
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
