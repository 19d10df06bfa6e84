using EfficientNet.Cli.Bench.Peers;
using EfficientNet.Cli.Bench.Reporting;

namespace EfficientNet.Cli.Bench.Targets;

/// <summary>
/// The ratios <c>efficientnet bench</c> reports, each of one best to another, and the targets some of them must reach.
/// </summary>
internal static class PeerTargets
{
    /// <summary>The fp32 featurizer's best: the default numerator of a ratio.</summary>
    public const string FeaturizerBest = FeaturizerPeer.Fp32Group + " (best)";

    /// <summary>
    /// Targets against the peers' best: how many times the first best's images per second the second's must be at least,
    /// each peer at its best configuration in the same run. Why each: the featurizer adds decoding and batching to raw
    /// ONNX Runtime on prepared pixels and may cost at most a tenth of it (0.9×); it exists to be clearly faster than what
    /// ML.NET users build without it, the plain chain (1.8×) and ML.NET's own <c>DnnFeaturizeImage</c> ResNet18 (6×);
    /// int8 is only worth its accuracy cost when it is clearly faster than fp32 (1.8×, end to end and inference alone);
    /// and our exported graph should be faster than <c>torch.onnx.export</c>'s of the same weights (1.1×).
    /// </summary>
    public static IReadOnlyList<(string Of, string Against, double Minimum)> TargetsAgainstThePeersBest { get; } =
    [
        (FeaturizerBest, RawOnnxRuntimePeer.Fp32Group + " (best)", 0.9),
        (FeaturizerBest, PlainChainPeer.Group + " (best)", 1.8),
        (FeaturizerBest, DnnFeaturizerPeer.Group, 6.0),
        (FeaturizerPeer.Int8Group + " (best)", FeaturizerBest, 1.8),
        (RawOnnxRuntimePeer.Int8Group + " (best)", "raw ONNX Runtime fp32, prepared pixels (best)", 1.8),
        (TorchOnnxPeer.BareGroup + " (best)", TorchOnnxPeer.TorchOnnxGroup + " (best)", 1.1),
    ];

    /// <summary>
    /// The ratios of <paramref name="rows"/> (best rows marked), in the report's order, each with its target from
    /// <see cref="TargetsAgainstThePeersBest"/>, if any. Rows of peers that were left out give no ratio.
    /// </summary>
    public static List<Ratio> Ratios(IReadOnlyList<Row> rows)
    {
        var best = rows.Where(x => x.Best).GroupBy(x => x.Group).ToDictionary(x => x.Key, x => x.First().ImagesPerSecond);
        double featurizer = best[FeaturizerPeer.Fp32Group];
        var ratios = new List<Ratio>();
        void Add(string of, string against, double value) =>
            ratios.Add(new(against, value, TargetsAgainstThePeersBest.Where(t => t.Of == of && t.Against == against).Select(t => (double?)t.Minimum).FirstOrDefault(), of));

        Add(FeaturizerBest, RawOnnxRuntimePeer.Fp32Group + " (best)", featurizer / best[RawOnnxRuntimePeer.Fp32Group]);
        Add(FeaturizerBest, PlainChainPeer.Group + " (best)", featurizer / best[PlainChainPeer.Group]);
        if (best.TryGetValue(DnnFeaturizerPeer.Group, out double resnet)) Add(FeaturizerBest, DnnFeaturizerPeer.Group, featurizer / resnet);
        Add(FeaturizerBest, "raw ONNX Runtime, default session (batch 32)", featurizer / rows.First(x => x.Group == RawOnnxRuntimePeer.Fp32Group).ImagesPerSecond);
        Add(FeaturizerPeer.Int8Group + " (best)", FeaturizerBest, best[FeaturizerPeer.Int8Group] / featurizer);
        Add(RawOnnxRuntimePeer.Int8Group + " (best)", "raw ONNX Runtime fp32, prepared pixels (best)", best[RawOnnxRuntimePeer.Int8Group] / best[RawOnnxRuntimePeer.Fp32Group]);
        if (best.TryGetValue(TorchOnnxPeer.TorchOnnxGroup, out double torchOnnx) && best.TryGetValue(TorchOnnxPeer.BareGroup, out double ours))
            Add(TorchOnnxPeer.BareGroup + " (best)", TorchOnnxPeer.TorchOnnxGroup + " (best)", ours / torchOnnx);
        if (best.TryGetValue(TorchSharpEager.Group, out double torchSharp)) Add(FeaturizerBest, TorchSharpEager.Group + " (best)", featurizer / torchSharp);
        if (best.TryGetValue(TorchPeer.EagerGroup, out double eager)) Add(FeaturizerBest, TorchPeer.EagerGroup + " (best)", featurizer / eager);
        Add(FeaturizerBest, "plain ML.NET chain, reloaded, ORT default threads", featurizer / rows.First(x => x.Setting == PlainChainPeer.ReloadedSetting).ImagesPerSecond);
        return ratios;
    }
}
