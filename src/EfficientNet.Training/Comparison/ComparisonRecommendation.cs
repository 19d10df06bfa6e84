using System.Globalization;
using Microsoft.ML.EfficientNet.Data;
using Microsoft.ML.EfficientNet.Evaluation;

namespace EfficientNet.Training.Comparison;

/// <summary>
/// The recommendation rule and the Pareto front, separate from training so they can be checked on any numbers. A
/// candidate's accuracy is judged against chance by <see cref="ChanceAssessment"/>, the rule training and
/// <c>efficientnet evaluate</c> use too.
/// </summary>
internal static class ComparisonRecommendation
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
    /// The recommended candidate, or null and a sentence saying why none is. Only candidates that finished, learned beyond
    /// chance (the lower end of their accuracy's 95 % interval lies above the held-out majority-class rate,
    /// <see cref="ChanceAssessment.AboveChance"/>) and meet every constraint qualify. Among them the best by
    /// <paramref name="metric"/> wins, ties going to fewer MACs, then fewer parameters; ranked by accuracy, every
    /// qualifying candidate whose interval overlaps the best one's is indistinguishable from it on these images, and the
    /// cheapest of that group is recommended (by latency when all have one, else by parameters), the sentence naming the
    /// others and the number of held-out images.
    /// </summary>
    /// <param name="candidates">Every candidate's result; those that succeeded carry their <see cref="CandidateResult.Confusion"/>.</param>
    /// <param name="constraints">The limits.</param>
    /// <param name="metric">The ranking metric.</param>
    /// <param name="classNames">Class names, for the class a collapsed model answers; null: class numbers.</param>
    /// <param name="chanceCause">
    /// The likely reason when no candidate learned beyond chance, as the caller knows it (for example "trained from scratch on
    /// 96 images for 1 epoch"); null: a general one.
    /// </param>
    /// <exception cref="ArgumentException">A candidate that succeeded has no <see cref="CandidateResult.Confusion"/>.</exception>
    public static (CandidateResult? Recommended, string Reason) Choose(IReadOnlyList<CandidateResult> candidates, ComparisonConstraints constraints, ComparisonMetric metric,
        IReadOnlyList<string>? classNames = null, string? chanceCause = null)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        ArgumentNullException.ThrowIfNull(constraints);
        var c = CultureInfo.InvariantCulture;
        var finished = candidates.Where(r => r.Status == CandidateStatus.Succeeded).ToList();
        if (finished.Count == 0)
            return (null, "no candidate finished: " + string.Join("; ", candidates.Select(r => $"{r.Name} {Violations(r, constraints)[0]}")));
        if (finished.FirstOrDefault(r => r.Chance is not { Count: > 0 }) is { } unjudged)
            throw new ArgumentException($"Candidate '{unjudged.Name}' succeeded but has no held-out confusion matrix to judge its accuracy against chance.", nameof(candidates));

        var learned = finished.Where(r => r.Chance!.AboveChance).ToList();
        if (learned.Count == 0)
        {
            var closest = finished.OrderByDescending(r => r.Accuracy).ThenBy(r => r.Macs).First();
            var chance = closest.Chance!;
            string warning = chance.Warning(classNames, chanceCause ?? "too little training for these classes (few images, few epochs, or no pretrained weights)")!;
            if (warning.StartsWith(AtChancePrefix, StringComparison.Ordinal)) warning = warning[AtChancePrefix.Length..];
            string who = finished.Count == 1 ? $"{closest.Name}'s" : $"the 95 % intervals of all {finished.Count} reach it; the most accurate is {closest.Name}, whose";
            return (null, string.Create(c, $"no candidate learned beyond chance ({100 * chance.ChanceAccuracy:0.00} %): {who} {warning}"));
        }

        var meeting = learned.Where(r => Violations(r, constraints).Count == 0).ToList();
        if (meeting.Count == 0)
            return (null, "no candidate meets the constraints: " + string.Join("; ", finished.Select(r =>
                $"{r.Name} {string.Join(", ", Violations(r, constraints).Concat(r.Chance!.AboveChance ? [] : [AtChance(r)]))}")));

        var best = meeting.OrderByDescending(r => r.Score(metric)).ThenBy(r => r.Macs).ThenBy(r => r.Parameters).First();
        string metricName = metric == ComparisonMetric.MacroF1 ? "macro-F1" : "accurate";
        string among = constraints.IsEmpty
            ? $"{finished.Count} finished candidate{(finished.Count == 1 ? "" : "s")}"
            : $"{meeting.Count} candidate{(meeting.Count == 1 ? "" : "s")} meeting the constraints";
        // Macro-F1 has no interval here; ranked by it, the best one is recommended as measured.
        var alike = metric == ComparisonMetric.Accuracy ? meeting.Where(r => !ReferenceEquals(r, best) && Overlap(r.Chance!, best.Chance!)).ToList() : [];
        if (alike.Count == 0)
        {
            string separated = metric == ComparisonMetric.Accuracy && meeting.Count > 1 ? ", its 95 % interval clear of the others'" : "";
            return (best, $"{Describe(best, metric)}: the most {metricName} of {among}{separated}");
        }

        var group = alike.Prepend(best).ToList();
        bool byLatency = group.All(r => double.IsFinite(r.LatencyMilliseconds));
        var cheapest = (byLatency ? group.OrderBy(r => r.LatencyMilliseconds).ThenBy(r => r.Parameters) : group.OrderBy(r => r.Parameters).ThenBy(r => r.Macs)).First();
        var others = group.Where(r => !ReferenceEquals(r, cheapest)).Select(r => string.Create(c, $"{r.Name} ({r.Accuracy:0.##} %, 95 % interval {Interval(r.Chance!)})")).ToList();
        string named = others.Count == 1 ? others[0] : string.Join(", ", others.Take(others.Count - 1)) + " and " + others[^1];
        return (cheapest, string.Create(c, $"{Describe(cheapest, metric)}: indistinguishable from {named} on {best.Chance!.Count} held-out images (their 95 % intervals overlap), " +
            $"so the cheapest of them by {(byLatency ? "latency" : "parameters")} is recommended; {best.Name} is the most {metricName} of {among}"));
    }

    /// <summary>The start of <see cref="ChanceAssessment.Warning"/>, which the chance sentence continues without.</summary>
    private const string AtChancePrefix = "At chance: ";

    private static bool Overlap(ChanceAssessment a, ChanceAssessment b) => a.Low <= b.High && b.Low <= a.High;

    private static string Interval(ChanceAssessment a) => string.Create(CultureInfo.InvariantCulture, $"{100 * a.Low:0.00}–{100 * a.High:0.00} %");

    private static string AtChance(CandidateResult r) =>
        string.Create(CultureInfo.InvariantCulture, $"at chance (95 % interval {Interval(r.Chance!)} reaches the majority-class rate {r.ChanceAccuracy:0.00} %)");

    private static string Describe(CandidateResult r, ComparisonMetric metric)
    {
        var c = CultureInfo.InvariantCulture;
        string measure = metric == ComparisonMetric.MacroF1
            ? string.Create(c, $"macro-F1 {r.MacroF1:0.####}, accuracy {r.Accuracy:0.##} %")
            : string.Create(c, $"accuracy {r.Accuracy:0.##} %");
        return string.Create(c, $"{r.Name} ({measure}, 95 % interval {Interval(r.Chance!)}, {r.Parameters / 1e6:0.##} M parameters, {r.Macs / 1e6:0.#} M MACs, {r.LatencyMilliseconds:0.##} ms p50)");
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
        LabeledImageSet train, LabeledImageSet heldOut, string output, string chanceCause)
    {
        var (recommended, reason) = Choose(candidates, constraints, metric, train.Classes, chanceCause);
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
