using EfficientNet.Cli.Bench.Machine;
using EfficientNet.Cli.Bench.Reporting;
using Microsoft.ML;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Onnx;
using Microsoft.ML.EfficientNet.Scoring;
using Microsoft.ML.EfficientNet.Weights;

namespace EfficientNet.Cli.Bench.Measuring;

/// <summary>
/// One row of the per-variant table: the featurizer at its defaults on the same images, batch-1 latency on prepared
/// pixels at ONNX Runtime's default threads, the model's size and the process's peak RSS while the variant ran.
/// </summary>
internal static class VariantMeasurement
{
    /// <summary>Measures <paramref name="variant"/> with seeded random weights at <paramref name="resolution"/> (null: its published crop); files go to <paramref name="work"/>.</summary>
    public static VariantRow Measure(MLContext ml, EfficientNetVariant variant, int? resolution, IDataView paths, IDataView warmPaths, string pathColumn, string featuresColumn,
        int count, int runs, string work)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        MachineDescription.ResetPeakResident();
        var checkpoint = WeightsResolver.Resolve(new WeightsRequest(variant) { UseRandomWeights = true, ReplaceHead = true });
        byte[] onnx = EfficientNetOnnxExporter.Export(checkpoint, new OnnxExportOptions { Outputs = OnnxOutputs.Features, Resolution = resolution });
        checkpoint = null;
        string path = Path.Combine(work, $"{variant.Name}.onnx");
        File.WriteAllBytes(path, onnx);
        var metadata = OnnxModelMetadata.Read(onnx);
        double ips;
        using (var featurizer = ml.Transforms.EfficientNetFeaturizer(variant.Name, featuresColumn, pathColumn, new EfficientNetFeaturizerOptions { WeightsPath = path }).Fit(paths))
            ips = Throughput.BestImagesPerSecond(() => FeaturizerMeasurements.Consume(featurizer.Transform(paths), featuresColumn, count), count, runs, () => FeaturizerMeasurements.Consume(featurizer.Transform(warmPaths), featuresColumn, -1));
        double peak = MachineDescription.PeakResidentMegabytes();
        // Batch-1 latency on prepared pixels of a few images.
        var (pixels, _) = FeaturizerMeasurements.PreparedPixels(ml, ml.Data.TakeRows(paths, 4), pathColumn, metadata.Preprocessing, Math.Min(count, 4));
        var latencies = OnnxRuntimeThroughput.Latencies(onnx, OnnxExportOptions.FeaturesOutputName, pixels, Math.Clamp(count, 10, 40));
        return new VariantRow(variant.Name, metadata.Resolution, ips, Throughput.Percentile(latencies, 0.5), Throughput.Percentile(latencies, 0.95), onnx.Length / 1e6, peak);
    }
}
