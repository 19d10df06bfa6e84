using Microsoft.Extensions.Logging;

namespace EfficientNet.Training.Comparison;

/// <summary>
/// Where a comparison reports what it does: <see cref="EfficientNetComparisonSettings.Progress"/> and
/// <see cref="EfficientNetComparisonSettings.Logger"/>, both optional. One place builds every
/// <see cref="ComparisonProgress"/>, so each phase reaches the caller in the same shape whichever part reports it.
/// </summary>
internal sealed class ComparisonMonitor(Action<ComparisonProgress>? progress, ILogger? logger, int count)
{
    /// <summary>The comparison's logger, for the parts that log their own details.</summary>
    public ILogger? Logger => logger;

    /// <summary>True when someone listens for progress: the per-step reports are not worth computing otherwise.</summary>
    public bool ReportsProgress => progress is not null;

    /// <summary>A candidate is about to train.</summary>
    public void Starting(CandidateTrial trial, string strategyName)
    {
        var blank = trial.Blank;
        progress?.Invoke(new ComparisonProgress(trial.Index, count, blank.Name, ComparisonPhase.Starting, 0, null, null));
        logger?.LogInformation("{Candidate}: {Strategy} at {Size} px, {Parameters:N0} parameters, {Macs:N0} MACs", blank.Name, strategyName, blank.ImageSize, blank.Parameters, blank.Macs);
    }

    /// <summary>A candidate trains: <paramref name="fraction"/> of it done, <paramref name="remaining"/> left when known.</summary>
    public void Training(int index, string candidate, double fraction, TimeSpan? remaining) =>
        progress?.Invoke(new ComparisonProgress(index, count, candidate, ComparisonPhase.Training, fraction, remaining, null));

    /// <summary>A candidate's exported model is being measured.</summary>
    public void Measuring(int index, string candidate) =>
        progress?.Invoke(new ComparisonProgress(index, count, candidate, ComparisonPhase.Measuring, 1, null, null));

    /// <summary>A candidate's run threw; it is recorded as failed.</summary>
    public void Failed(string candidate, Exception error) => logger?.LogError("{Candidate} failed: {Error}", candidate, error.Message);

    /// <summary>A candidate's saved result stands in for a new run.</summary>
    public void Reused(int index, CandidateResult result)
    {
        logger?.LogInformation("{Candidate}: reusing the result saved {When:u} (same settings and data)", result.Name, result.FinishedUtc);
        progress?.Invoke(new ComparisonProgress(index, count, result.Name, ComparisonPhase.Reused, 1, TimeSpan.Zero, result));
    }

    /// <summary>A candidate finished: succeeded, failed, cancelled or skipped.</summary>
    public void Finished(int index, CandidateResult result) =>
        progress?.Invoke(new ComparisonProgress(index, count, result.Name, ComparisonPhase.Finished, 1, TimeSpan.Zero, result));
}
