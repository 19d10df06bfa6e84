using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.EfficientNet.Scoring;

namespace EfficientNet.Cli.Bench.Measuring;

/// <summary>
/// Start-up from <c>Fit</c> to the first feature, for each tier of the featurizer's export cache: nothing cached (the
/// weights are exported), the export only in the cache folder (what a later process finds), and the export in memory
/// (a second fit in the same process). Milliseconds.
/// </summary>
/// <param name="FirstFitMs">First fit in the process, empty cache folder: make the weights, hash them, export, open the sessions.</param>
/// <param name="FirstFeatureMs">From the same start to the first feature read.</param>
/// <param name="DiskFitMs">A fit with the memory tier cleared, so the export is read from the cache folder.</param>
/// <param name="DiskFeatureMs">From the same start to the first feature.</param>
/// <param name="SecondFitMs">A fit with the export in memory.</param>
/// <param name="SecondFeatureMs">From the same start to the first feature.</param>
internal sealed record FeaturizerStartup(double FirstFitMs, double FirstFeatureMs, double DiskFitMs, double DiskFeatureMs, double SecondFitMs, double SecondFeatureMs)
{
    /// <summary>
    /// Times <c>Fit</c> and the first feature of a featurizer with seeded random weights of <paramref name="variant"/>,
    /// three times over <paramref name="paths"/>: with an empty cache folder (a temporary one, deleted afterwards) and
    /// nothing in memory, with the export only in that folder, and with it in memory. Call it before anything else in
    /// the process has scored, so that the first fit carries what a new process pays.
    /// </summary>
    public static FeaturizerStartup Measure(string variant, int? resolution, IDataView paths, string pathColumn)
    {
        const string features = "Features";
        string folder = Directory.CreateTempSubdirectory("efficientnet-startup-").FullName;
        try
        {
            (double Fit, double First) Once()
            {
                var ml = new MLContext(seed: 1);
                var watch = Stopwatch.StartNew();
                using var featurizer = ml.Transforms.EfficientNetFeaturizer(variant, features, pathColumn,
                    new EfficientNetFeaturizerOptions { UseRandomWeights = true, Resolution = resolution, CacheDirectory = folder }).Fit(paths);
                double fit = watch.Elapsed.TotalMilliseconds;
                FeaturizerMeasurements.Consume(ml.Data.TakeRows(featurizer.Transform(paths), 1), features, expected: 1);
                return (fit, watch.Elapsed.TotalMilliseconds);
            }
            EfficientNetFeaturizerEstimator.ClearExportCache();
            var first = Once();
            EfficientNetFeaturizerEstimator.ClearExportCache();
            var disk = Once();
            var memory = Once();
            return new FeaturizerStartup(first.Fit, first.First, disk.Fit, disk.First, memory.Fit, memory.First);
        }
        finally
        {
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
        }
    }
}
