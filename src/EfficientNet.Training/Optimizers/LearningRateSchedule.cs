namespace EfficientNet.Training.Optimizers;

/// <summary>How the learning rate (and, for one-cycle, momentum) changes over the steps of a run.</summary>
public enum ScheduleKind
{
    /// <summary>Linear warm-up from 0, then cosine decay to 0 (timm's and the EfficientNet V2 recipes).</summary>
    CosineWithWarmup,

    /// <summary>
    /// Smith's one-cycle, as PyTorch's <c>OneCycleLR</c> (cosine phases, initial = peak/25, final = initial/1e4, momentum
    /// cycled 0.95 → 0.85 → 0.95).
    /// </summary>
    OneCycle,

    /// <summary>The peak learning rate throughout.</summary>
    Constant,
}

/// <summary>The names of the learning-rate schedules, as the command line takes them (<c>efficientnet train --schedule</c>).</summary>
internal static class ScheduleKinds
{
    /// <summary>The names, in the order of <see cref="ScheduleKind"/>: <c>cosine</c> (with warm-up), <c>one-cycle</c>, <c>constant</c>.</summary>
    public static IReadOnlyList<string> Names { get; } = ["cosine", "one-cycle", "constant"];

    /// <summary>The name of a schedule, for example <c>one-cycle</c>.</summary>
    /// <param name="kind">The schedule.</param>
    public static string ToName(ScheduleKind kind) => Names[(int)kind];

    /// <summary>Parses one of <see cref="Names"/> or a member name of <see cref="ScheduleKind"/> (<c>CosineWithWarmup</c>), ignoring case.</summary>
    /// <param name="name">The name.</param>
    /// <exception cref="ArgumentException">Unknown name; the message lists the valid ones.</exception>
    public static ScheduleKind Parse(string name) => NameTable.Parse<ScheduleKind>(Names, name, "schedule");
}

/// <summary>
/// A learning-rate schedule as a pure function of the global step, so a resumed run continues exactly where it stopped
/// without scheduler state.
/// </summary>
/// <param name="Kind">The shape.</param>
/// <param name="PeakLearningRate">Highest learning rate (the head's; groups scale it).</param>
/// <param name="TotalSteps">Steps in the whole run.</param>
/// <param name="WarmupFraction">Share of the steps spent warming up (cosine) or rising (one-cycle), in [0, 1).</param>
internal sealed record LearningRateSchedule(ScheduleKind Kind, double PeakLearningRate, long TotalSteps, double WarmupFraction)
{
    private const double OneCycleDivFactor = 25, OneCycleFinalDivFactor = 1e4, MaxMomentum = 0.95, BaseMomentum = 0.85;

    /// <summary>Learning rate and momentum (null when the schedule leaves momentum alone) at a zero-based step.</summary>
    /// <param name="step">Global step, 0 for the first update.</param>
    public (double LearningRate, double? Momentum) At(long step)
    {
        switch (Kind)
        {
            case ScheduleKind.Constant:
                return (PeakLearningRate, null);
            case ScheduleKind.CosineWithWarmup:
            {
                long warmup = (long)(WarmupFraction * TotalSteps);
                if (step < warmup) return (PeakLearningRate * (step + 1) / warmup, null);
                double progress = Math.Clamp((step - warmup) / (double)Math.Max(1, TotalSteps - warmup), 0, 1);
                return (PeakLearningRate * 0.5 * (1 + Math.Cos(Math.PI * progress)), null);
            }
            case ScheduleKind.OneCycle:
            {
                double initial = PeakLearningRate / OneCycleDivFactor, final = initial / OneCycleFinalDivFactor;
                double peakStep = WarmupFraction * TotalSteps - 1, endStep = TotalSteps - 1;
                if (step <= peakStep)
                {
                    double pct = step / peakStep;
                    return (Anneal(initial, PeakLearningRate, pct), Anneal(MaxMomentum, BaseMomentum, pct));
                }
                double down = Math.Clamp((step - peakStep) / (endStep - peakStep), 0, 1);
                return (Anneal(PeakLearningRate, final, down), Anneal(BaseMomentum, MaxMomentum, down));
            }
            default:
                throw new InvalidOperationException($"Unknown schedule {Kind}.");
        }
    }

    // PyTorch's _annealing_cos: from start to end along half a cosine.
    private static double Anneal(double start, double end, double pct) => end + (start - end) / 2 * (Math.Cos(Math.PI * pct) + 1);
}
