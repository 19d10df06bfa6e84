using System.Diagnostics;
using System.Globalization;
using EfficientNet.Training.Training;
using Microsoft.ML.EfficientNet.Weights;

namespace EfficientNet.Training.Comparison;

/// <summary>
/// <see cref="ComparisonStrategy.FineTune"/>: trains the whole network with <see cref="EfficientNetTrainer"/> from the
/// variant's published weights (or from scratch, or from the candidate's own weights), exports it, and measures the export.
/// </summary>
internal sealed class FineTuneStrategy(EfficientNetComparisonSettings settings, ComparisonMonitor monitor) : ICandidateStrategy
{
    /// <summary>The trainer's name for a variant's published weights (<see cref="EfficientNetTrainingOptions.InitialWeights"/>).</summary>
    private const string Pretrained = "pretrained";

    public CandidateResult Run(CandidateTrial trial, CancellationToken cancellationToken)
    {
        var (candidate, blank, limit) = (trial.Candidate, trial.Blank, trial.Limit);
        var options = TrainingOptions(candidate, blank.ImageSize, trial.Folder);
        var clock = Stopwatch.StartNew();
        var userProgress = options.Progress;
        options.Progress = e =>
        {
            userProgress?.Invoke(e);
            if (e is not StepCompleted step || !monitor.ReportsProgress) return;
            double fraction = step.GlobalStep / (double)Math.Max(1, (long)options.Epochs * step.StepsPerEpoch);
            TimeSpan remaining = step.Eta;
            if (limit is { } l)
            {
                fraction = Math.Max(fraction, clock.Elapsed / l);
                if (l - clock.Elapsed < remaining) remaining = l - clock.Elapsed;
            }
            monitor.Training(trial.Index, candidate.Name, Math.Clamp(fraction, 0, 1), remaining < TimeSpan.Zero ? TimeSpan.Zero : remaining);
        };

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (limit is { } timeLimit) stop.CancelAfter(timeLimit);
        bool pretrained = IsPretrained(options);
        if (pretrained && PretrainedWeights.Find(WeightFormat.TorchVision, candidate.Variant) is null)
            throw new InvalidOperationException($"No weights are published for '{candidate.Name}' to fine-tune from; set FromScratch to train every candidate " +
                "from scratch, or give this candidate a WeightsPath.");
        TrainingResult trained;
        try
        {
            trained = EfficientNetTrainer.Train(options, trial.Train, validation: null, stop.Token);
        }
        catch (FileNotFoundException e) when (pretrained)
        {
            // The resolver names the address and the path to put the file at; the other way out is the comparison's.
            throw new FileNotFoundException(e.Message + " Or set FromScratch to train every candidate from scratch.", e.FileName, e);
        }
        double seconds = clock.Elapsed.TotalSeconds;
        if (cancellationToken.IsCancellationRequested)
            return blank with { Status = CandidateStatus.Cancelled, Error = trained.Message, TrainSeconds = seconds, Epochs = trained.History.Count };
        if (trained.OnnxPath is null)
        {
            string reason = trained.Status == TrainingStatus.Cancelled && limit is { } l
                ? $"The time limit of {ComparisonBudget.Format(l)} ended before the first epoch finished; give it more time or use fewer images."
                : trained.Message;
            return blank with { Status = CandidateStatus.Failed, Error = reason, TrainSeconds = seconds };
        }
        monitor.Measuring(trial.Index, candidate.Name);
        return CandidateMeasurements.Measure(blank, trained.OnnxPath, trial.HeldOut, settings) with
        {
            TrainSeconds = seconds,
            Epochs = trained.History.Count,
            TimeLimited = trained.Status == TrainingStatus.Cancelled,
        };
    }

    public StrategyFingerprint Fingerprint(ComparisonCandidate candidate, int imageSize)
    {
        var probe = TrainingOptions(candidate, imageSize, "");
        string? initialWeights = probe.InitialWeights is { } iw && !IsPretrained(probe) ? Path.GetFullPath(iw) : probe.InitialWeights;
        return new(initialWeights, settings.Epochs,
            new { probe.BatchSize, probe.LearningRate, probe.Optimizer, probe.Schedule, probe.WarmupFraction, probe.WeightDecay, probe.LabelSmoothing,
                probe.Augmentation, probe.ShiftPixels, Recipe = probe.Recipe?.ToString(), probe.Mode, probe.EmaDecay });
    }

    public string ChanceCause(int trainImages)
    {
        string images = string.Create(CultureInfo.InvariantCulture, $"{trainImages:N0} training images");
        string epochs = string.Create(CultureInfo.InvariantCulture, $"{settings.Epochs} epoch{(settings.Epochs == 1 ? "" : "s")}");
        return settings.FromScratch
            ? $"trained from scratch on {images} for {epochs}, too little to learn these classes without pretrained weights"
            : $"{epochs} on {images} were too few, or the learning rate too high";
    }

    private static bool IsPretrained(EfficientNetTrainingOptions options) => string.Equals(options.InitialWeights, Pretrained, StringComparison.OrdinalIgnoreCase);

    /// <summary>A candidate's training options: what the comparison sets, then the caller's adjustments.</summary>
    private EfficientNetTrainingOptions TrainingOptions(ComparisonCandidate candidate, int size, string folder)
    {
        var s = settings;
        var options = new EfficientNetTrainingOptions
        {
            Variant = candidate.Variant,
            ImageSize = size,
            Epochs = s.Epochs,
            Seed = s.Seed,
            // The held-out split measures the candidates, so it never chooses an epoch: the last finished epoch is exported.
            ValidationFraction = 0,
            // Set either way: the trainer's own default is not what a comparison means by default.
            InitialWeights = candidate.WeightsPath ?? (s.FromScratch ? null : Pretrained),
            CacheDirectory = s.CacheDirectory,
            OutputDirectory = ComparisonResultCache.RunFolderOf(folder),
            Resume = s.Resume,
            Threads = s.Threads,
            Logger = s.Logger,
        };
        s.ConfigureTraining?.Invoke(candidate, options);
        return options;
    }
}
