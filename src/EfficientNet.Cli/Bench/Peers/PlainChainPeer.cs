using EfficientNet.Cli.Bench.Measuring;
using Microsoft.ML;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Onnx;
using Microsoft.ML.EfficientNet.Preprocessing;
using Microsoft.ML.EfficientNet.Scoring;
using Microsoft.ML.Transforms.Onnx;

namespace EfficientNet.Cli.Bench.Peers;

/// <summary>
/// The plain ML.NET chain, <c>LoadImages → ResizeImages → ExtractPixels → ApplyOnnxModel</c> on the same model, row at a
/// time: the featurizer's saved model reloaded with <c>Model.Load</c> (what a user runs; a saved model keeps no thread
/// settings, so ONNX Runtime's defaults), the chain built by hand with fixed threads, and the featurizer's unsaved
/// in-process chain as a reference that is never the baseline (docs/BENCHMARKS.md says why).
/// </summary>
internal static class PlainChainPeer
{
    /// <summary>The plain chain's rows.</summary>
    public const string Group = "plain ML.NET chain";

    /// <summary>The setting of the saved model reloaded, the chain as a user runs it.</summary>
    public const string ReloadedSetting = "saved model reloaded (Model.Load), row at a time, ORT default threads";

    /// <summary>Adds the chain's rows over <paramref name="onnx"/> (kept at <paramref name="onnxPath"/>); files go to <paramref name="work"/>.</summary>
    public static void Add(TimedRows rows, MLContext ml, EfficientNetVariant variant, IDataView paths, string pathColumn, string featuresColumn,
        byte[] onnx, string onnxPath, OnnxModelMetadata metadata, string work, int cores)
    {
        string zip = Path.Combine(work, "featurizer.zip");
        var fitted = rows.Own(ml.Transforms.EfficientNetFeaturizer(variant.Name, featuresColumn, pathColumn, new EfficientNetFeaturizerOptions { WeightsPath = onnxPath }).Fit(paths));
        ml.Model.Save(fitted, paths.Schema, zip);
        rows.Add(Group, "featurizer's StandardChain in process, unsaved (reference, not a baseline)", fitted.StandardChain, eligible: false);
        var loaded = new MLContext(seed: 1).Model.Load(zip, out _);
        if (loaded is IDisposable d) rows.Own(d);
        rows.Add(Group, ReloadedSetting, loaded);
        string rowModel = Path.Combine(work, "row.onnx");
        File.WriteAllBytes(rowModel, EfficientNetOnnxExporter.WithRowOutput(onnx, OnnxExportOptions.FeaturesOutputName, metadata.FeatureWidth));
        foreach (int threads in new[] { 1, cores }.Distinct())
        {
            var chain = ml.Transforms.LoadImages("Image", null, pathColumn)
                .Append(RecipeTransforms.Resize(ml.Transforms, metadata.Preprocessing, "Image", "Resized"))
                .Append(RecipeTransforms.Extract(ml.Transforms, "Resized", OnnxExportOptions.ImageInputName))
                .Append(ml.Transforms.ApplyOnnxModel(new OnnxOptions
                {
                    ModelFile = rowModel, InputColumns = [OnnxExportOptions.ImageInputName], OutputColumns = [OnnxExportOptions.FeaturesOutputName],
                    IntraOpNumThreads = threads, InterOpNumThreads = 1, RecursionLimit = 100,
                }))
                .Append(ml.Transforms.CopyColumns(featuresColumn, OnnxExportOptions.FeaturesOutputName));
            var transformer = chain.Fit(paths);
            foreach (var t in transformer) if (t is IDisposable disposable) rows.Own(disposable);
            rows.Add(Group, $"LoadImages → ResizeImages → ExtractPixels → ApplyOnnxModel, intra-op {threads}, inter-op 1", transformer);
        }
    }
}
