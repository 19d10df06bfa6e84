using Microsoft.ML.Data;
using Microsoft.ML.Transforms;
using Microsoft.ML.EfficientNet.Preprocessing;

namespace Microsoft.ML.EfficientNet.Scoring;

/// <summary>
/// The plain ML.NET chain that both the featurizer and the trainer's model are, and save as, which is what makes a saved
/// model load without this library: <c>[LoadImages →] ResizeImages → ExtractPixels → ApplyOnnxModel → [tail] →
/// DropColumns</c>. For a path column <c>LoadImages</c> comes first; then shorter-side resize and centre crop to the
/// recipe's resize size and planar RGB pixels 0–255 (<see cref="RecipeTransforms"/>); then the ONNX model (crop to the
/// network size and normalisation happen inside it, since ML.NET has no crop-only or per-channel transform); then what the
/// caller appends (the trainer's label keys); then the temporary columns are dropped.
/// </summary>
/// <remarks>
/// The temporary columns are named after <see cref="Owner"/>, the output column (the featurizer's features, the trainer's
/// <c>PredictedLabel</c>), so that they never collide with the user's. Saved models hold these names: they stay as they are.
/// </remarks>
/// <param name="inputColumn">The image column, or the path column when <paramref name="inputIsPath"/>.</param>
/// <param name="inputIsPath">True when the input holds image file paths (then <c>LoadImages</c> comes first).</param>
/// <param name="owner">The output column the temporary columns are named after.</param>
/// <param name="imageFolder">The folder <c>LoadImages</c> resolves relative paths against; null for paths as they are.</param>
internal sealed class ScoringChain(string inputColumn, bool inputIsPath, string owner, string? imageFolder = null)
{
    /// <summary>A resize size for <see cref="OutputSchema"/>: the resized image and pixels are dropped, so it does not reach the output.</summary>
    private static readonly PreprocessingRecipe AnyRecipe = PreprocessingRecipe.Centered(32);

    /// <summary>The pixels column of a chain owned by <paramref name="owner"/>, which is also the ONNX model's input name (<c>ApplyOnnxModel</c> binds by name).</summary>
    public static string PixelsColumnOf(string owner) => owner + ".EfficientNetPixels";

    /// <summary>The image or path column the chain reads.</summary>
    public string InputColumn { get; } = inputColumn;

    /// <summary>True when <see cref="InputColumn"/> holds image file paths.</summary>
    public bool InputIsPath { get; } = inputIsPath;

    /// <summary>The folder relative paths are resolved against, or null.</summary>
    public string? ImageFolder { get; } = imageFolder;

    /// <summary>The output column the temporary columns are named after.</summary>
    public string Owner { get; } = owner;

    /// <summary>The decoded image column <c>LoadImages</c> fills from a path.</summary>
    public string LoadedColumn => Owner + ".EfficientNetImage";

    /// <summary>The resized image.</summary>
    public string ResizedColumn => Owner + ".EfficientNetResized";

    /// <summary>The planar 0–255 pixels, the ONNX model's input.</summary>
    public string PixelsColumn => PixelsColumnOf(Owner);

    /// <summary>A temporary ONNX output the caller's tail turns into <see cref="Owner"/> (the trainer's label strings).</summary>
    public string ValueColumn => Owner + ".EfficientNetValue";

    /// <summary>The image column ResizeImages reads: the input itself, or the one LoadImages fills from a path.</summary>
    public string ImageColumn => InputIsPath ? LoadedColumn : InputColumn;

    /// <summary>The transforms up to <see cref="ResizedColumn"/>: LoadImages (path input only) and ResizeImages; ExtractPixels follows.</summary>
    public int StepsThroughResize => InputIsPath ? 2 : 1;

    /// <summary>The chain around <paramref name="onnx"/>, whose input is <see cref="PixelsColumn"/>.</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="recipe">Gives the resize size.</param>
    /// <param name="onnx">A row-at-a-time model: rank-1 outputs, so ML.NET types them as flat vectors.</param>
    /// <param name="outputs">The ONNX outputs the chain keeps as columns.</param>
    /// <param name="gpuDeviceId">GPU for <c>ApplyOnnxModel</c>, or null for the CPU.</param>
    /// <param name="fallbackToCpu">Whether <c>ApplyOnnxModel</c> falls back to the CPU when the GPU cannot be used.</param>
    /// <param name="tail">Transforms after the ONNX model, or null.</param>
    /// <param name="tailTemporaries">Columns <paramref name="tail"/> reads that are dropped at the end.</param>
    public EstimatorChain<ColumnSelectingTransformer> Create(TransformsCatalog catalog, PreprocessingRecipe recipe, byte[] onnx, string[] outputs,
        int? gpuDeviceId, bool fallbackToCpu, IEstimator<ITransformer>? tail = null, params string[] tailTemporaries)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return Build(catalog, recipe, catalog.ApplyOnnxModel(outputs, [PixelsColumn], new MemoryStream(onnx, writable: false),
            shapeDictionary: null, gpuDeviceId: gpuDeviceId, fallbackToCpu: fallbackToCpu, recursionLimit: 100), tail, tailTemporaries);
    }

    /// <summary>
    /// The output schema of <see cref="Create"/>'s chain from types alone: no model, no weights, no ONNX Runtime session.
    /// ML.NET keeps <c>SchemaShape.Column</c>'s constructor internal (dotnet/machinelearning#3243), so the columns come from
    /// the same built-in estimators, with <paramref name="modelTypes"/> standing in for <c>ApplyOnnxModel</c>: built-in
    /// transforms of <see cref="PixelsColumn"/> whose outputs have the types ApplyOnnxModel gives the model's outputs.
    /// The input checks are the chain's own, with ML.NET's wording.
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="inputSchema">The schema the chain would be fitted on.</param>
    /// <param name="modelTypes">Gives each ONNX output's column type, from <see cref="PixelsColumn"/> (a known-size vector of Single).</param>
    /// <param name="tail">As for <see cref="Create"/>.</param>
    /// <param name="tailTemporaries">As for <see cref="Create"/>.</param>
    public SchemaShape OutputSchema(TransformsCatalog catalog, SchemaShape inputSchema, IEstimator<ITransformer> modelTypes,
        IEstimator<ITransformer>? tail = null, params string[] tailTemporaries)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return Build(catalog, AnyRecipe, modelTypes, tail, tailTemporaries).GetOutputSchema(inputSchema);
    }

    private EstimatorChain<ColumnSelectingTransformer> Build(TransformsCatalog catalog, PreprocessingRecipe recipe, IEstimator<ITransformer> model,
        IEstimator<ITransformer>? tail, string[] tailTemporaries)
    {
        var chain = new EstimatorChain<ITransformer>();
        if (InputIsPath) chain = chain.Append<ITransformer>(catalog.LoadImages(LoadedColumn, ImageFolder, InputColumn));
        chain = chain.Append<ITransformer>(RecipeTransforms.Resize(catalog, recipe, ImageColumn, ResizedColumn))
            .Append<ITransformer>(RecipeTransforms.Extract(catalog, ResizedColumn, PixelsColumn))
            .Append(model);
        if (tail is not null) chain = chain.Append(tail);
        string[] temporary = InputIsPath ? [LoadedColumn, ResizedColumn, PixelsColumn, .. tailTemporaries] : [ResizedColumn, PixelsColumn, .. tailTemporaries];
        return chain.Append(catalog.DropColumns(temporary));
    }
}
