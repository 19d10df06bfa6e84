using EfficientNet.Cli.Bench.Measuring;
using Microsoft.ML;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Scoring;

namespace EfficientNet.Cli.Bench.Peers;

/// <summary>
/// Ours: the featurizer (batched path, path column) over the fp32 model and over its int8 quantisation, at its defaults
/// and a small grid of batch sizes and threading, each setting a row.
/// </summary>
internal static class FeaturizerPeer
{
    /// <summary>The fp32 featurizer's rows.</summary>
    public const string Fp32Group = "featurizer fp32";

    /// <summary>The int8 featurizer's rows.</summary>
    public const string Int8Group = "featurizer int8";

    /// <summary>The fp32 featurizer over <paramref name="onnxPath"/>: its defaults, larger batches, and one batch at a time with all cores.</summary>
    public static void AddFp32(TimedRows rows, MLContext ml, EfficientNetVariant variant, IDataView paths, string pathColumn, string featuresColumn, string onnxPath, int cores)
    {
        var settings = new List<(string Name, EfficientNetFeaturizerOptions Options)> { Defaults(cores) };
        foreach (int batch in new[] { 16, 32 })
            settings.Add(($"batch {batch}, {cores} batches at once × 1 intra-op thread", new EfficientNetFeaturizerOptions { BatchSize = batch }));
        foreach (int batch in new[] { 8, 32 })
            settings.Add(($"batch {batch}, 1 batch at a time × {cores} intra-op threads", new EfficientNetFeaturizerOptions { BatchSize = batch, ConcurrentBatches = 1, IntraOpThreads = cores }));
        Add(rows, ml, variant, paths, pathColumn, featuresColumn, Fp32Group, onnxPath, settings);
    }

    /// <summary>
    /// The int8 featurizer over <paramref name="int8Path"/>: its defaults, smaller batches (int8 kernels are faster on
    /// cache-sized activations), one session with all cores.
    /// </summary>
    public static void AddInt8(TimedRows rows, MLContext ml, EfficientNetVariant variant, IDataView paths, string pathColumn, string featuresColumn, string int8Path, int cores)
    {
        var settings = new List<(string Name, EfficientNetFeaturizerOptions Options)>
        {
            Defaults(cores),
            ($"batch 4, {cores} batches at once × 1 intra-op thread", new EfficientNetFeaturizerOptions { BatchSize = 4 }),
            ($"batch 8, 1 batch at a time × {cores} intra-op threads", new EfficientNetFeaturizerOptions { BatchSize = 8, ConcurrentBatches = 1, IntraOpThreads = cores }),
        };
        Add(rows, ml, variant, paths, pathColumn, featuresColumn, Int8Group, int8Path, settings);
    }

    private static (string Name, EfficientNetFeaturizerOptions Options) Defaults(int cores) =>
        ($"defaults (batch {EfficientNetFeaturizerOptions.Defaults.BatchSize}, {cores} batches at once × 1 intra-op thread)", new EfficientNetFeaturizerOptions());

    private static void Add(TimedRows rows, MLContext ml, EfficientNetVariant variant, IDataView paths, string pathColumn, string featuresColumn, string group, string model,
        List<(string Name, EfficientNetFeaturizerOptions Options)> settings)
    {
        foreach (var (name, options) in settings)
        {
            options.WeightsPath = model;
            var featurizer = rows.Own(ml.Transforms.EfficientNetFeaturizer(variant.Name, featuresColumn, pathColumn, options).Fit(paths));
            rows.Add(group, name, featurizer);
        }
    }
}
