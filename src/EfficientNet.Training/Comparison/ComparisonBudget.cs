using System.Diagnostics;
using System.Globalization;

namespace EfficientNet.Training.Comparison;

/// <summary>
/// When a comparison stops starting candidates, as ML.NET AutoML's stop managers decide for trials: the caller's
/// cancellation, and the wall-clock budgets (<see cref="EfficientNetComparisonSettings.TimePerCandidate"/>, and
/// <see cref="EfficientNetComparisonSettings.TotalTime"/>). A candidate that starts gets the smaller of its own limit and
/// what is left of the total.
/// </summary>
/// <remarks>
/// The total is the candidates' training time together, so its clock starts when the first candidate asks for time:
/// checking settings, fingerprints and reused results before it spends none of it.
/// </remarks>
internal sealed class ComparisonBudget
{
    private readonly TimeSpan? _perCandidate;
    private readonly TimeSpan? _total;
    private readonly CancellationToken _cancellationToken;
    private Func<TimeSpan>? _elapsed;

    /// <summary>Creates the budget; its clock starts at the first <see cref="TryAllot"/>.</summary>
    /// <param name="perCandidate">Training time of one candidate; null: no limit.</param>
    /// <param name="total">Time of the whole comparison; null: no limit.</param>
    /// <param name="cancellationToken">The caller's cancellation.</param>
    /// <param name="elapsed">Time spent of the total; default a stopwatch started at the first <see cref="TryAllot"/>.</param>
    public ComparisonBudget(TimeSpan? perCandidate, TimeSpan? total, CancellationToken cancellationToken, Func<TimeSpan>? elapsed = null)
    {
        _perCandidate = perCandidate;
        _total = total;
        _cancellationToken = cancellationToken;
        _elapsed = elapsed;
    }

    /// <summary>Why no candidate may start any more because the caller cancelled, or null.</summary>
    public string? Cancelled => _cancellationToken.IsCancellationRequested ? "The comparison was cancelled before this candidate started." : null;

    /// <summary>
    /// The time the next candidate may train for (null: no limit), or false and why not when the total budget is spent.
    /// </summary>
    /// <param name="limit">The smaller of the per-candidate limit and what is left of the total.</param>
    /// <param name="refusal">Why the candidate may not start, when false.</param>
    public bool TryAllot(out TimeSpan? limit, out string? refusal)
    {
        limit = _perCandidate;
        refusal = null;
        if (_total is not { } budget) return true;
        if (_elapsed is null)
        {
            var clock = Stopwatch.StartNew();
            _elapsed = () => clock.Elapsed;
        }
        var left = budget - _elapsed();
        if (left <= TimeSpan.Zero)
        {
            limit = null;
            refusal = $"The total time budget of {Format(budget)} was spent before this candidate started.";
            return false;
        }
        limit = limit is { } perCandidate && perCandidate < left ? perCandidate : left;
        return true;
    }

    /// <summary>A duration as people read it in a message: <c>1h05m</c>, <c>2m30s</c>, <c>0.5s</c>.</summary>
    internal static string Format(TimeSpan t) =>
        t.TotalHours >= 1 ? t.ToString(@"h\hmm\m", CultureInfo.InvariantCulture)
        : t.TotalMinutes >= 1 ? t.ToString(@"m\mss\s", CultureInfo.InvariantCulture)
        : string.Create(CultureInfo.InvariantCulture, $"{t.TotalSeconds:0.#}s");
}
