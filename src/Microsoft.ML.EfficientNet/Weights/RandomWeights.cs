using Microsoft.ML.EfficientNet.Architecture;

namespace Microsoft.ML.EfficientNet.Weights;

/// <summary>
/// Seeded random weights for a spec, drawn as torchvision initialises EfficientNet (<see cref="TorchvisionInit"/>:
/// Kaiming-normal fan-out convolutions, identity batch norm, uniform classifier). For tests, benchmarks and training from
/// scratch only: features from random weights carry little meaning, so nothing in this library falls back to them silently.
/// </summary>
internal static class RandomWeights
{
    /// <summary>Creates the weights.</summary>
    /// <param name="spec">The network.</param>
    /// <param name="seed">Random seed; the same seed gives the same weights.</param>
    public static EfficientNetCheckpoint Create(EfficientNetSpec spec, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var random = new Random(seed);
        var tensors = new List<KeyValuePair<string, WeightTensor>>();
        foreach (var t in spec.StateDict)
        {
            var values = new float[t.ElementCount];
            var init = TorchvisionInit.For(t);
            switch (init.Distribution)
            {
                case InitDistribution.Normal:
                    for (int i = 0; i < values.Length; i++) values[i] = (float)(Gaussian(random) * init.Scale);
                    break;
                case InitDistribution.Uniform:
                    for (int i = 0; i < values.Length; i++) values[i] = (float)((random.NextDouble() * 2 - 1) * init.Scale);
                    break;
                case InitDistribution.Ones:
                    Array.Fill(values, 1f);
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
