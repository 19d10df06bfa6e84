using Microsoft.ML.Data;
using Microsoft.ML.Transforms;
using Microsoft.ML.EfficientNet.Preprocessing;

namespace Microsoft.ML.EfficientNet.Scoring;

/// <summary>
/// The featurizer as built-in ML.NET transforms only, which is what makes a saved model load without this library:
/// for a path column <c>LoadImages</c> first, then shorter-side resize and centre crop to the recipe's resize size, planar
/// RGB pixels 0–255, the ONNX model (crop to the network size and normalisation happen inside it, since ML.NET has no
/// crop-only or per-channel transform), then the temporary columns are dropped.
/// </summary>
internal static class FeaturizerChain
{
    public static string LoadedColumn(string output) => output + ".EfficientNetImage";

    public static string ResizedColumn(string output) => output + ".EfficientNetResized";

    public static string PixelsColumn(string output) => output + ".EfficientNetPixels";

    /// <summary>The transforms before the ONNX model: LoadImages (path input only), ResizeImages, ExtractPixels.</summary>
    public static int PreprocessingSteps(bool inputIsPath) => inputIsPath ? 3 : 2;

    /// <summary>The image column ResizeImages reads: the input itself, or the one LoadImages fills from a path.</summary>
    public static string ImageColumn(string inputColumnName, bool inputIsPath, string output) => inputIsPath ? LoadedColumn(output) : inputColumnName;

    public static EstimatorChain<ColumnSelectingTransformer> Create(TransformsCatalog catalog, FeaturizerModel model, string inputColumnName, bool inputIsPath,
        EfficientNetFeaturizerOptions options)
    {
        string image = ImageColumn(inputColumnName, inputIsPath, model.OutputName), resized = ResizedColumn(model.OutputName), pixels = model.InputName;
        var chain = new EstimatorChain<ITransformer>();
        if (inputIsPath) chain = chain.Append<ITransformer>(catalog.LoadImages(image, options.ImageFolder, inputColumnName));
        string[] temporary = inputIsPath ? [image, resized, pixels] : [resized, pixels];
        return chain.Append(RecipeTransforms.Resize(catalog, model.Metadata.Preprocessing, image, resized))
            .Append(RecipeTransforms.Extract(catalog, resized, pixels))
            .Append(catalog.ApplyOnnxModel([model.OutputName], [pixels], new MemoryStream(model.RowOnnx, writable: false),
                shapeDictionary: null, gpuDeviceId: options.GpuDeviceId, fallbackToCpu: options.FallbackToCpu, recursionLimit: 100))
            .Append(catalog.DropColumns(temporary));
    }
}
