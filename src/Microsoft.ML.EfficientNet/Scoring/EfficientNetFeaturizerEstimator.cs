using Microsoft.ML.Data;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.Transforms.Image;

namespace Microsoft.ML.EfficientNet.Scoring;

/// <summary>
/// Turns an image column into EfficientNet's pooled features: a flat <c>Vector&lt;Single, head&gt;</c> (1280 for B0 …
/// 2560 for B7), preprocessed exactly as the weights expect (shorter-side resize, centre crop, per-channel normalisation).
/// Created by <see cref="EfficientNetCatalog.EfficientNetFeaturizer"/>.
/// </summary>
/// <remarks>
/// <para><b>Estimator characteristics</b></para>
/// <list type="table">
/// <item><term>Does this estimator need to look at the data to train its parameters?</term><description>No</description></item>
/// <item><term>Input column data type</term><description><see cref="MLImage"/> (from <c>LoadImages</c>), or text: image file paths</description></item>
/// <item><term>Output column data type</term><description>Known-sized vector of <see cref="float"/></description></item>
/// <item><term>Exportable to ONNX</term><description>The model inside is ONNX</description></item>
/// </list>
/// <para>
/// The fitted transformer is the standard chain <c>ResizeImages(IsoCrop) → ExtractPixels → ApplyOnnxModel →
/// DropColumns</c>, with <c>LoadImages</c> first when the input column holds file paths, so a saved model loads and
/// scores with plain ML.NET. In process, <c>Transform</c> runs the same ONNX model on batches
/// (<see cref="EfficientNetFeaturizerOptions.BatchSize"/>) while the next batch is decoded, with the same results (unless
/// <see cref="EfficientNetFeaturizerOptions.ReducedScaleJpegDecoding"/> is on). ML.NET's <c>ResizeImages</c> filter
/// differs slightly from torchvision's bicubic (mean 0.95 of 255 per pixel).
/// </para>
/// </remarks>
public sealed class EfficientNetFeaturizerEstimator : IEstimator<EfficientNetFeaturizerTransformer>
{
    private readonly TransformsCatalog _catalog;
    private readonly EfficientNetFeaturizerOptions _options;
    private FeaturizerModel? _model;

    internal EfficientNetFeaturizerEstimator(TransformsCatalog catalog, EfficientNetVariant variant, string outputColumnName,
        string inputColumnName, EfficientNetFeaturizerOptions options)
    {
        _catalog = catalog;
        Variant = variant;
        OutputColumnName = outputColumnName;
        InputColumnName = inputColumnName;
        _options = options;
    }

    /// <summary>The variant that computes the features.</summary>
    public EfficientNetVariant Variant { get; }

    /// <summary>The features column.</summary>
    public string OutputColumnName { get; }

    /// <summary>The input column: decoded images, or image file paths.</summary>
    public string InputColumnName { get; }

    /// <summary>Length of the features vector: the variant's head channels.</summary>
    public int FeatureWidth => EfficientNetSpec.Create(Variant).HeadChannels;

    /// <summary>Resolves the weights (loading or downloading them once), builds the scoring chain and fits it.</summary>
    /// <param name="input">Data with the image column.</param>
    public EfficientNetFeaturizerTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        bool inputIsPath = CheckInputColumn(input.Schema, InputColumnName);
        var model = Model();
        // The batched scorer is created first: a GPU that cannot be used is reported here with its cause.
        var scorer = new OnnxBatchScorer(model.Onnx, model.InputName, model.OutputName, model.Metadata.InputSize, model.Metadata.FeatureWidth,
            _options.GpuDeviceId, _options.FallbackToCpu, _options.IntraOpThreads, _options.ConcurrentBatches, _options.Logger);
        try
        {
            var chain = FeaturizerChain.Create(_catalog, model, InputColumnName, inputIsPath, _options).Fit(input);
            return new EfficientNetFeaturizerTransformer(chain, scorer, model, Variant, InputColumnName, inputIsPath, _options);
        }
        catch
        {
            scorer.Dispose();
            throw;
        }
    }

    /// <summary>The input schema plus the features column.</summary>
    /// <param name="inputSchema">Schema of the data to featurize.</param>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        var column = inputSchema.FirstOrDefault(c => c.Name == InputColumnName);
        if (column.Name is null)
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Could not find input column '{InputColumnName}'.");
        if (column.Kind != SchemaShape.Column.VectorKind.Scalar || column.ItemType is not (ImageDataViewType or TextDataViewType))
            throw SchemaMismatch(nameof(inputSchema), InputColumnName,
                (column.IsKey ? $"Key<{column.ItemType}>" : $"{column.ItemType}") + (column.Kind == SchemaShape.Column.VectorKind.Scalar ? "" : " vector"));
        // The ONNX scorer's schema logic decides the output column shape; the model is resolved once and kept.
        return FeaturizerChain.Create(_catalog, Model(), InputColumnName, column.ItemType is TextDataViewType, _options).GetOutputSchema(inputSchema);
    }

    private FeaturizerModel Model() => _model ??= FeaturizerModel.Create(Variant, _options, FeaturizerChain.PixelsColumn(OutputColumnName), OutputColumnName);

    /// <summary>Checks the input column's type; true when it holds image paths, false for decoded images.</summary>
    internal static bool CheckInputColumn(DataViewSchema schema, string name)
    {
        var column = schema.GetColumnOrNull(name)
            ?? throw new ArgumentOutOfRangeException(nameof(schema), $"Could not find input column '{name}'.");
        return column.Type switch
        {
            ImageDataViewType => false,
            TextDataViewType => true,
            _ => throw SchemaMismatch(nameof(schema), name, $"{column.Type}"),
        };
    }

    // ML.NET's wording for a wrong column type (Contracts.ExceptSchemaMismatch).
    private static ArgumentOutOfRangeException SchemaMismatch(string parameter, string column, string actual) =>
        new(parameter, $"Schema mismatch for input column '{column}': expected Image or String (an image path), got {actual}. " +
            "Load images with mlContext.Transforms.LoadImages(...) or pass a column of file paths.");
}
