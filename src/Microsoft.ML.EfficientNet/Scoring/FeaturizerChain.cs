using Microsoft.ML.Data;
using Microsoft.ML.Transforms;
using Microsoft.ML.EfficientNet.Preprocessing;

namespace Microsoft.ML.EfficientNet.Scoring;

/// <summary>
/// The featurizer as built-in ML.NET transforms only, which is what makes a saved model load without this library:
/// shorter-side resize and centre crop to the recipe's resize size, planar RGB pixels 0–255, the ONNX model (crop to the
/// network size and normalisation happen inside it, since ML.NET has no crop-only or per-channel transform), then the
/// temporary columns are dropped.
/// </summary>
internal static class FeaturizerChain
{
    public static string ResizedColumn(string output) => output + ".EfficientNetResized";

    public static string PixelsColumn(string output) => output + ".EfficientNetPixels";

    public static EstimatorChain<ColumnSelectingTransformer> Create(TransformsCatalog catalog, FeaturizerModel model, string inputColumnName, EfficientNetFeaturizerOptions options)
    {
        string resized = ResizedColumn(model.OutputName), pixels = model.InputName;
        return RecipeTransforms.ResizeAndExtract(catalog, model.Metadata.Preprocessing, inputColumnName, resized, pixels)
            .Append(catalog.ApplyOnnxModel([model.OutputName], [pixels], new MemoryStream(model.RowOnnx, writable: false),
                shapeDictionary: null, gpuDeviceId: options.GpuDeviceId, fallbackToCpu: options.FallbackToCpu, recursionLimit: 100))
            .Append(catalog.DropColumns(resized, pixels));
    }
}
