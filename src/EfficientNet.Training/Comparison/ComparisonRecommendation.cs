using System.Globalization;
using Microsoft.ML.EfficientNet.Data;

namespace EfficientNet.Training.Comparison;

/// <summary>The recommendation rule and the Pareto front, separate from training so they can be checked on any numbers.</summary>
public static class ComparisonRecommendation
{
    /// <summary>
    /// What a candidate violates: one phrase per constraint it misses (<c>latency 12.3 ms &gt; 10 ms</c>), or why it has
    /// no numbers (failed, skipped). Empty: it finished and meets every constraint.
    /// </summary>
    /// <param name="candidate">A candidate's result.</param>
    /// <param name="constraints">The limits.</param>
    public static IReadOnlyList<string> Violations(CandidateResult candidate, ComparisonConstraints constraints)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        ArgumentNullException.ThrowIfNull(constraints);
        if (candidate.Status != CandidateStatus.Succeeded)
            return [$"{candidate.Status.ToString().ToLowerInvariant()}: {candidate.Error ?? "no result"}"];
        var c = CultureInfo.InvariantCulture;
        var violations = new List<string>();
        if (constraints.MaxLatencyMilliseconds is { } latency && !(candidate.LatencyMilliseconds <= latency))
            violations.Add(string.Create(c, $"latency {candidate.LatencyMilliseconds:0.##} ms > {latency:0.##} ms"));
        if (constraints.MaxParameters is { } parameters && candidate.Parameters > parameters)
            violations.Add(string.Create(c, $"{candidate.Parameters:N0} parameters > {parameters:N0}"));
        if (constraints.MaxModelMegabytes is { } megabytes && candidate.OnnxBytes / 1e6 > megabytes)
            violations.Add(string.Create(c, $"model {candidate.OnnxBytes / 1e6:0.##} MB > {megabytes:0.##} MB"));
        if (constraints.MinAccuracy is { } accuracy && !(candidate.Accuracy >= accuracy))
            violations.Add(string.Create(c, $"accuracy {candidate.Accuracy:0.##} % < {accuracy:0.##} %"));
        return violations;
    }

    /// <summary>
    /// The most accurate (by <paramref name="metric"/>) candidate that finished and meets every constraint, ties going to
    /// fewer MACs, then fewer parameters; or null and a sentence saying why none qualifies.
    /// </summary>
    /// <param name="candidates">Every candidate's result.</param>
    /// <param name="constraints">The limits.</param>
    /// <param name="metric">The ranking metric.</param>
    public static (CandidateResult? Recommended, string Reason) Choose(IReadOnlyList<CandidateResult> candidates, ComparisonConstraints constraints, ComparisonMetric metric)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        ArgumentNullException.ThrowIfNull(constraints);
        var c = CultureInfo.InvariantCulture;
        var finished = candidates.Where(r => r.Status == CandidateStatus.Succeeded).ToList();
        if (finished.Count == 0)
            return (null, "no candidate finished: " + string.Join("; ", candidates.Select(r => $"{r.Name} {Violations(r, constraints)[0]}")));
        var meeting = finished.Where(r => Violations(r, constraints).Count == 0).ToList();
        if (meeting.Count == 0)
            return (null, "no candidate meets the constraints: " + string.Join("; ", finished.Select(r => $"{r.Name} {string.Join(", ", Violations(r, constraints))}")));
        var best = meeting.OrderByDescending(r => r.Score(metric)).ThenBy(r => r.Macs).ThenBy(r => r.Parameters).First();
        string measure = metric == ComparisonMetric.MacroF1
            ? string.Create(c, $"macro-F1 {best.MacroF1:0.####}")
            : string.Create(c, $"accuracy {best.Accuracy:0.##} %");
        string among = constraints.IsEmpty
            ? $"the most {(metric == ComparisonMetric.MacroF1 ? "macro-F1" : "accurate")} of {finished.Count} finished candidate{(finished.Count == 1 ? "" : "s")}"
            : $"the most {(metric == ComparisonMetric.MacroF1 ? "macro-F1" : "accurate")} of {meeting.Count} candidate{(meeting.Count == 1 ? "" : "s")} meeting the constraints";
        return (best, string.Create(c, $"{best.Name} ({measure}, {best.Parameters / 1e6:0.##} M parameters, {best.Macs / 1e6:0.#} M MACs, {best.LatencyMilliseconds:0.##} ms p50): {among}"));
    }

    /// <summary>
    /// Indices of the points on the Pareto front of (cost, score): those no other point beats, that is, none has a cost
    /// at most as high and a score at least as high with one of them strictly better. Points with NaN are never on it.
    /// </summary>
    /// <param name="points">Cost (lower is better) and score (higher is better) of each point.</param>
    /// <returns>Indices in ascending cost.</returns>
    public static IReadOnlyList<int> ParetoFront(IReadOnlyList<(double Cost, double Score)> points)
    {
        ArgumentNullException.ThrowIfNull(points);
        var front = new List<int>();
        for (int i = 0; i < points.Count; i++)
        {
            var (cost, score) = points[i];
            if (double.IsNaN(cost) || double.IsNaN(score)) continue;
            bool dominated = false;
            for (int j = 0; j < points.Count && !dominated; j++)
            {
                if (j == i || double.IsNaN(points[j].Cost) || double.IsNaN(points[j].Score)) continue;
                dominated = points[j].Cost <= cost && points[j].Score >= score && (points[j].Cost < cost || points[j].Score > score);
            }
            if (!dominated) front.Add(i);
        }
        return front.OrderBy(i => points[i].Cost).ThenBy(i => i).ToList();
    }

    internal static ComparisonResult Build(IReadOnlyList<CandidateResult> candidates, ComparisonConstraints constraints, ComparisonMetric metric,
        LabeledImageSet train, LabeledImageSet heldOut, string output)
    {
        var (recommended, reason) = Choose(candidates, constraints, metric);
        return new ComparisonResult
        {
            Candidates = candidates,
            Recommended = recommended,
            Recommendation = reason,
            Violations = candidates.ToDictionary(r => r.Name, r => Violations(r, constraints)),
            Constraints = constraints,
            Metric = metric,
            TrainImages = train.Count,
            HeldOutImages = heldOut.Count,
            ClassNames = train.Classes,
            OutputDirectory = output,
        };
    }
}
