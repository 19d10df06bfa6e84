namespace Microsoft.ML.EfficientNet.Quantization;

/// <summary>What the accuracy-aware search settled on.</summary>
/// <param name="FloatLayers">Layers left float.</param>
/// <param name="Comparison">The chosen model against the float one.</param>
/// <param name="AllLayers">The model with every layer int8 against the float one.</param>
/// <param name="Steps">Layers left float in the order tried, with the drop after each.</param>
internal sealed record FallbackOutcome(IReadOnlySet<string> FloatLayers, Int8Comparison Comparison, Int8Comparison AllLayers, IReadOnlyList<QuantizationStep> Steps);

/// <summary>
/// Leaves layers float, most sensitive first, until the int8 model loses no more than a bound. Each layer's
/// sensitivity is measured, not guessed: the model with only that layer float is scored on a subset of the held-out
/// images, and the layers are ordered by how much of the all-int8 model's output error that removes (a smooth measure:
/// top-1 changes on a few hundred images are too few to order 18 layers). Then layers go float in that order, the drop
/// measured on every held-out image after each, until it is within the bound.
/// </summary>
/// <remarks>
/// Greedy rather than a search over subsets: with B0's 18 layers a subset search is out of reach, and the errors of
/// layers add up closely enough that the most sensitive first is the usual practice (ONNX Runtime's and TensorRT's
/// tooling leave nodes float the same way, by a per-layer error). At most half of the layers go float: past that most of
/// the arithmetic runs in float and the int8 file buys nothing, so the search says the bound cannot be met and keeps
/// the best model it found.
/// </remarks>
/// <param name="layers">The layers that can go float, in graph order.</param>
/// <param name="quick">Scores the model with the given layers float on the sensitivity subset.</param>
/// <param name="full">Scores the model with the given layers float on every held-out image.</param>
internal sealed class FallbackSearch(IReadOnlyList<string> layers, Func<IReadOnlySet<string>, Int8Comparison> quick, Func<IReadOnlySet<string>, Int8Comparison> full)
{
    // Drops are differences of shares times 100; a bound met exactly must not fail on the last bit.
    private const double Tolerance = 1e-9;

    /// <summary>Runs the search.</summary>
    /// <param name="maxDrop">The bound, in percentage points.</param>
    /// <param name="measure">Whether a drop can be measured (held-out images and logits); if not, every layer stays int8.</param>
    public FallbackOutcome Run(double maxDrop, bool measure)
    {
        var none = new HashSet<string>(StringComparer.Ordinal);
        var all = full(none);
        if (!measure || all.Drop is not { } drop || drop <= maxDrop + Tolerance) return new FallbackOutcome(none, all, all, []);

        double baseline = quick(none).MeanSquaredError;
        var sensitivity = layers.ToDictionary(l => l, l =>
            baseline > 0 ? (baseline - quick(new HashSet<string>([l], StringComparer.Ordinal)).MeanSquaredError) / baseline : 0, StringComparer.Ordinal);
        var order = layers.Select((l, i) => (l, i)).OrderByDescending(p => sensitivity[p.l]).ThenBy(p => p.i).Select(p => p.l).ToList();

        var floatLayers = new HashSet<string>(StringComparer.Ordinal);
        var steps = new List<QuantizationStep>();
        (IReadOnlySet<string> Layers, Int8Comparison Comparison) best = (none, all);
        foreach (string layer in order.Take(layers.Count / 2))
        {
            floatLayers.Add(layer);
            var comparison = full(floatLayers);
            double stepDrop = comparison.Drop!.Value;
            steps.Add(new QuantizationStep(layer, sensitivity[layer], stepDrop, comparison.Top1Agreement!.Value));
            if (stepDrop < best.Comparison.Drop!.Value) best = (new HashSet<string>(floatLayers, StringComparer.Ordinal), comparison);
            if (stepDrop <= maxDrop + Tolerance) break;
        }
        return new FallbackOutcome(best.Layers, best.Comparison, all, steps);
    }
}
