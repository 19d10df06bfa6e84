using System.Globalization;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Data;

namespace EfficientNet.Training.Comparison;

/// <summary>
/// Trains every candidate of <see cref="EfficientNetComparisonSettings"/> on the same training split, measures each on
/// the same held-out split (accuracy, macro-F1, top-5, parameters, MACs, ONNX size, batch-1 latency, throughput,
/// training time, peak memory) and recommends the most accurate one that meets the constraints. One candidate's failure
/// (out of memory, missing weights, time limit before its first epoch) is recorded and the others go on. Created by
/// <c>mlContext.MulticlassClassification.CreateEfficientNetComparison(settings)</c>, like ML.NET's AutoML experiments.
/// </summary>
/// <remarks>
/// Its parts follow ML.NET AutoML's: a strategy per <see cref="ComparisonStrategy"/> runs one candidate (AutoML's trial
/// runner), <see cref="ComparisonResultCache"/> keeps and reuses finished results (its result manager),
/// <see cref="ComparisonBudget"/> decides when no more candidates start (its stop manager), and
/// <see cref="ComparisonMonitor"/> reports progress (its monitor). This class checks the settings and runs the loop.
/// </remarks>
public sealed class EfficientNetComparisonExperiment
{
    private readonly Func<EfficientNetComparisonSettings, ComparisonMonitor, ICandidateStrategy>? _strategy;
    private readonly Func<TimeSpan>? _elapsed;

    /// <summary>Creates the experiment; nothing runs until <see cref="Execute(LabeledImageSet, CancellationToken)"/>.</summary>
    /// <param name="settings">Candidates, strategy, budget, constraints, metric, seed and output folder.</param>
    public EfficientNetComparisonExperiment(EfficientNetComparisonSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        Settings = settings;
    }

    /// <summary>An experiment whose candidates run through <paramref name="strategy"/> and whose budget reads <paramref name="elapsed"/>: the loop alone, under test.</summary>
    internal EfficientNetComparisonExperiment(EfficientNetComparisonSettings settings, Func<EfficientNetComparisonSettings, ComparisonMonitor, ICandidateStrategy> strategy,
        Func<TimeSpan>? elapsed = null)
        : this(settings)
    {
        _strategy = strategy;
        _elapsed = elapsed;
    }

    /// <summary>The settings the experiment runs with.</summary>
    public EfficientNetComparisonSettings Settings { get; }

    /// <summary>Splits <paramref name="data"/> (seeded, stratified, <see cref="EfficientNetComparisonSettings.HoldOutFraction"/>) and runs the comparison.</summary>
    /// <param name="data">Labelled images.</param>
    /// <param name="cancellationToken">Stops the running candidate at its next step (its checkpoint resumes it) and skips the rest.</param>
    public ComparisonResult Execute(LabeledImageSet data, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (!(Settings.HoldOutFraction > 0 && Settings.HoldOutFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(Settings.HoldOutFraction), Settings.HoldOutFraction, "The held-out share must be in (0, 1).");
        var (train, heldOut) = data.Split(Settings.HoldOutFraction, Settings.Seed);
        return Execute(train, heldOut, cancellationToken);
    }

    /// <summary>Runs the comparison on a given training and held-out set.</summary>
    /// <param name="train">Images every candidate learns from.</param>
    /// <param name="heldOut">Images every candidate is measured on (same classes, in the same order).</param>
    /// <param name="cancellationToken">Stops the running candidate at its next step and skips the rest.</param>
    public ComparisonResult Execute(LabeledImageSet train, LabeledImageSet heldOut, CancellationToken cancellationToken = default)
    {
        Validate(train, heldOut);
        var s = Settings;
        string output = Path.GetFullPath(s.OutputDirectory ?? Path.Combine(Path.GetTempPath(), "efficientnet-compare-" + DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)));
        Directory.CreateDirectory(output);
        var monitor = new ComparisonMonitor(s.Progress, s.Logger, s.Candidates.Count);
        var strategy = _strategy?.Invoke(s, monitor) ?? (s.Strategy == ComparisonStrategy.FineTune ? new FineTuneStrategy(s, monitor) : new FeaturesStrategy(s, monitor));
        var cache = new ComparisonResultCache(output, s, strategy);
        var budget = new ComparisonBudget(s.TimePerCandidate, s.TotalTime, cancellationToken, _elapsed);
        var results = new List<CandidateResult>();
        for (int i = 0; i < s.Candidates.Count; i++)
        {
            var candidate = s.Candidates[i];
            var blank = Blank(candidate, train.Classes.Count);
            string folder = cache.FolderOf(candidate.Name), fingerprint = cache.Fingerprint(candidate, blank.ImageSize, train, heldOut);
            CandidateResult result;
            if (budget.Cancelled is { } cancelled) result = blank with { Error = cancelled };
            else if (s.Resume && ComparisonResultCache.TryRead(folder, fingerprint) is { } saved)
            {
                var reused = saved with { Reused = true, ScalingDimension = candidate.ScalingDimension, ScalingFactor = candidate.ScalingFactor };
                results.Add(reused);
                monitor.Reused(i, reused);
                continue;
            }
            else if (!budget.TryAllot(out var limit, out string? refusal)) result = blank with { Error = refusal };
            else
            {
                ComparisonResultCache.Prepare(folder, fingerprint);
                result = RunOne(strategy, monitor, new CandidateTrial(i, candidate, blank, folder, train, heldOut, limit), cancellationToken);
                if (result.Status == CandidateStatus.Succeeded) ComparisonResultCache.Save(folder, fingerprint, result);
            }
            results.Add(result);
            monitor.Finished(i, result);
        }
        return ComparisonRecommendation.Build(results, s.Constraints, s.Metric, train, heldOut, output, strategy.ChanceCause(train.Count));
    }

    /// <summary>Runs one candidate; whatever goes wrong becomes its result, so the others still run.</summary>
    private static CandidateResult RunOne(ICandidateStrategy strategy, ComparisonMonitor monitor, CandidateTrial trial, CancellationToken cancellationToken)
    {
        monitor.Starting(trial, ComparisonReport.StrategyName(trial.Blank.Strategy));
        CandidateResult result;
        var memory = PeakMemory.Start();
        try
        {
            result = strategy.Run(trial, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            result = trial.Blank with { Status = CandidateStatus.Cancelled, Error = "Cancelled; running the comparison again resumes this candidate." };
        }
#pragma warning disable CA1031 // one candidate's failure, whatever it is (out of memory included), must not end the comparison
        catch (Exception e)
#pragma warning restore CA1031
        {
            monitor.Failed(trial.Candidate.Name, e);
            result = trial.Blank with { Status = CandidateStatus.Failed, Error = $"{e.GetType().Name}: {e.Message}" };
        }
        return result with { PeakMemoryMegabytes = memory.Stop(), FinishedUtc = DateTime.UtcNow };
    }

    /// <summary>A candidate's result before it runs: what the architecture alone says, status <see cref="CandidateStatus.Skipped"/>.</summary>
    private CandidateResult Blank(ComparisonCandidate candidate, int classes)
    {
        int size = candidate.ImageSize ?? Settings.ImageSize ?? candidate.Variant.Resolution;
        var spec = EfficientNetSpec.Create(candidate.Variant, classes);
        return new CandidateResult
        {
            Name = candidate.Name,
            Variant = candidate.Variant,
            Strategy = Settings.Strategy,
            Status = CandidateStatus.Skipped,
            ImageSize = size,
            Classes = classes,
            Parameters = spec.ParameterCount,
            Macs = spec.MultiplyAccumulates(size, size),
            ScalingDimension = candidate.ScalingDimension,
            ScalingFactor = candidate.ScalingFactor,
            FinishedUtc = DateTime.UtcNow,
        };
    }

    /// <summary>Checks the settings against the data before anything runs; each error names the setting.</summary>
    private void Validate(LabeledImageSet train, LabeledImageSet heldOut)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(heldOut);
        var s = Settings;
        if (s.Candidates.Count == 0) throw new ArgumentException("Give at least one candidate.", nameof(Settings.Candidates));
        var duplicate = s.Candidates.GroupBy(c => c.Name, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new ArgumentException($"Two candidates are named '{duplicate.Key}'; names must differ (they name the result folders).", nameof(Settings.Candidates));
        if (s.Epochs < 1) throw new ArgumentOutOfRangeException(nameof(Settings.Epochs), s.Epochs, "Train for at least one epoch.");
        if (s.TimePerCandidate is { } t && t <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(Settings.TimePerCandidate), t, "Must be positive.");
        if (s.TotalTime is { } total && total <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(Settings.TotalTime), total, "Must be positive.");
        if (s.LatencyRuns < 1 || s.LatencyWarmupRuns < 0 || s.ThroughputImages < 1) throw new ArgumentOutOfRangeException(nameof(Settings.LatencyRuns), "Latency needs at least one timed run and throughput one image.");
        if (!train.Classes.SequenceEqual(heldOut.Classes))
            throw new ArgumentException($"Held-out classes [{string.Join(", ", heldOut.Classes)}] differ from training classes [{string.Join(", ", train.Classes)}].", nameof(heldOut));
        if (heldOut.Count == 0) throw new ArgumentException("The held-out set is empty; use more images or a larger HoldOutFraction.", nameof(heldOut));
        if (train.Classes.Count < 2) throw new ArgumentException("A comparison needs at least two classes.", nameof(train));
    }
}
