using Microsoft.ML.EfficientNet.Architecture;

namespace Microsoft.ML.EfficientNet.Weights;

/// <summary>
/// Seeded random weights for a spec, initialised as torchvision initialises EfficientNet (Kaiming-normal fan-out
/// convolutions, identity batch norm, uniform classifier). For tests, benchmarks and training from scratch only:
/// features from random weights carry little meaning, so nothing in this library falls back to them silently.
/// </summary>
public static class RandomWeights
{
    /// <summary>Creates the weights.</summary>
    /// <param name="spec">The network.</param>
    /// <param name="seed">Random seed; the same seed gives the same weights.</param>
    public static EfficientNetCheckpoint Create(EfficientNetSpec spec, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var random = new Random(seed);
        var convs = spec.ConvNormActivations().Select(u => u.Conv)
            .Concat(spec.Blocks.SelectMany(b => new[] { b.SqueezeExcitation.Reduce, b.SqueezeExcitation.Expand }))
            .ToDictionary(c => c.Name + ".weight", c => c, StringComparer.Ordinal);
        var tensors = new List<KeyValuePair<string, WeightTensor>>();
        foreach (var t in spec.StateDict)
        {
            var values = new float[t.ElementCount];
            switch (t.Role)
            {
                case TensorRole.Weight when convs.TryGetValue(t.Name, out var conv):
                    // Kaiming normal, fan_out mode: std = √(2 / (out · k² / groups)).
                    double std = Math.Sqrt(2.0 / (conv.OutputChannels * conv.KernelSize * conv.KernelSize / (double)conv.Groups));
                    for (int i = 0; i < values.Length; i++) values[i] = (float)(Gaussian(random) * std);
                    break;
                case TensorRole.Weight when t.Layer.Role == LayerRole.Classifier:
                    double range = 1.0 / Math.Sqrt(spec.NumClasses);
                    for (int i = 0; i < values.Length; i++) values[i] = (float)((random.NextDouble() * 2 - 1) * range);
                    break;
                case TensorRole.Weight or TensorRole.RunningVar:
                    Array.Fill(values, 1f); // batch-norm scale and running variance
                    break;
            }
            tensors.Add(new(t.Name, new WeightTensor(t.Shape, values)));
        }
        var weights = new StateDict(tensors, $"random weights (seed {seed})");
        return EfficientNetCheckpoint.FromCanonical(spec, weights, WeightSource.For(WeightFormat.TorchVision, spec.Variant));
    }

    private static double Gaussian(Random random)
    {
        // Box–Muller.
        double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
