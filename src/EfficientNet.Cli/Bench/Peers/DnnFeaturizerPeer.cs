using EfficientNet.Cli.Bench.Measuring;
using Microsoft.ML;

namespace EfficientNet.Cli.Bench.Peers;

/// <summary>
/// ML.NET's own image featurizer, <c>DnnFeaturizeImage</c> with ResNet18, row at a time at ONNX Runtime's default threads
/// (it has no thread setting). The only place that references <c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c>.
/// </summary>
internal static class DnnFeaturizerPeer
{
    /// <summary>Its row.</summary>
    public const string Group = "DnnFeaturizeImage ResNet18";

    /// <summary>Adds its row: <c>LoadImages → ResizeImages(224) → ExtractPixels → DnnFeaturizeImage</c>.</summary>
    public static void Add(TimedRows rows, MLContext ml, IDataView paths, string pathColumn, string featuresColumn)
    {
        var model = ml.Transforms.LoadImages("Image", null, pathColumn)
            .Append(ml.Transforms.ResizeImages("Resized", 224, 224, "Image"))
            .Append(ml.Transforms.ExtractPixels("Pixels", "Resized"))
            .Append(ml.Transforms.DnnFeaturizeImage(featuresColumn, m => m.ModelSelector.ResNet18(ml, m.OutputColumn, m.InputColumn), "Pixels"))
            .Fit(paths);
        foreach (var t in model) if (t is IDisposable disposable) rows.Own(disposable);
        rows.Add(Group, "LoadImages → ResizeImages(224) → ExtractPixels → DnnFeaturizeImage, row at a time, ORT default threads (it has no thread setting)", model);
    }
}
