using Microsoft.ML.Data;
using Microsoft.ML.Transforms;
using Microsoft.ML.Transforms.Image;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Onnx;
using Microsoft.ML.EfficientNet.Preprocessing;
using Microsoft.ML.EfficientNet.Runtime;

namespace Microsoft.ML.EfficientNet.Scoring;

/// <summary>
/// A fitted EfficientNet featurizer. <see cref="Transform"/> scores on batches; <see cref="ICanSaveModel.Save"/> writes the
/// equivalent chain of built-in ML.NET transforms, so the saved model loads in an app that does not reference this
/// library (it then scores one row at a time, as ML.NET's <c>ApplyOnnxModel</c> does). Dispose it to free the ONNX
/// Runtime sessions.
/// </summary>
public sealed class EfficientNetFeaturizerTransformer : ITransformer, IDisposable
{
    private readonly TransformerChain<ColumnSelectingTransformer> _chain;
    private readonly EfficientNetOnnxSession _scorer;
    private readonly FeaturizerModel _model;
    private readonly EfficientNetFeaturizerOptions _options;
    private readonly ScoringChain _columns;
    private bool _disposed;

    internal EfficientNetFeaturizerTransformer(TransformerChain<ColumnSelectingTransformer> chain, EfficientNetOnnxSession scorer, FeaturizerModel model,
        EfficientNetVariant variant, ScoringChain columns, EfficientNetFeaturizerOptions options)
    {
        _columns = columns;
        _chain = chain;
        _scorer = scorer;
        _model = model;
        _options = options;
        Variant = variant;
    }

    /// <summary>The variant that computes the features.</summary>
    public EfficientNetVariant Variant { get; }

    /// <summary>The input column: decoded images, or image file paths.</summary>
    public string InputColumnName => _columns.InputColumn;

    /// <summary>The features column.</summary>
    public string OutputColumnName => _model.OutputName;

    /// <summary>Recipe, weight source and SHA-256 of the model in use.</summary>
    internal OnnxModelMetadata Metadata => _model.Metadata;

    /// <summary>Where batches run: <c>CPU</c> or <c>CUDA:{id}</c> (after any fallback).</summary>
    public string ExecutionProvider => _scorer.ExecutionProvider;

    /// <summary>How the int8 model compares with the fp32 one on the calibration images, when
    /// <see cref="EfficientNetFeaturizerOptions.Quantization"/> was set; else null.</summary>
    public Quantization.QuantizationReport? Quantization => _model.Quantization;

    /// <summary>The ONNX model (features only, preprocessing in the graph), as stored in a saved model.</summary>
    public ReadOnlyMemory<byte> OnnxModel => _model.Onnx;

    /// <summary>The equivalent chain of built-in ML.NET transforms (what <see cref="ICanSaveModel.Save"/> writes).</summary>
    public ITransformer StandardChain => _chain;

    /// <summary>The batched ONNX Runtime session, for benchmarks that time inference alone.</summary>
    internal EfficientNetOnnxSession Scorer => _scorer;

    /// <summary>Always true: the row-at-a-time chain serves prediction engines.</summary>
    public bool IsRowToRowMapper => true;

    /// <summary>The input schema plus the features column.</summary>
    /// <param name="inputSchema">Schema of the data to featurize.</param>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        CheckInputColumn(inputSchema);
        return BatchedFeaturizerDataView.OutputSchema(inputSchema, _chain.GetOutputSchema(inputSchema), OutputColumnName);
    }

    /// <summary>Featurizes lazily, scoring <see cref="EfficientNetFeaturizerOptions.BatchSize"/> images per ONNX Runtime call.</summary>
    /// <param name="input">Data with the image column.</param>
    public IDataView Transform(IDataView input)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(input);
        return new BatchedFeaturizerDataView(input, GetOutputSchema(input.Schema), Resized, _scorer, InputColumnName, _columns.ImageColumn, OutputColumnName, _columns.ResizedColumn, _options);
    }

    /// <summary>
    /// The standard chain's preprocessing steps before <c>ExtractPixels</c> over <paramref name="input"/>, which add the
    /// resized image column (the batched view writes its pixels into the batch itself). For a path
    /// column, <see cref="PrefetchingImageLoadingView"/> stands in for <c>LoadImages</c> (same folder, same columns, same
    /// images unless <see cref="EfficientNetFeaturizerOptions.ReducedScaleJpegDecoding"/> is on) and decodes ahead on
    /// other threads.
    /// </summary>
    private IDataView Resized(IDataView input)
    {
        var steps = _chain.Take(_columns.StepsThroughResize);
        if (_columns.InputIsPath)
        {
            var loader = (ImageLoadingTransformer)steps.First();
            int? minShorterSide = _options.ReducedScaleJpegDecoding ? _model.Metadata.Preprocessing.ResizeSize : null;
            input = new PrefetchingImageLoadingView(input, InputColumnName, _columns.LoadedColumn, loader.ImageFolder,
                minShorterSide, lookahead: Environment.ProcessorCount + 1,
                () => new ImageDecoder(_options.ApplyExifOrientation, _options.MaxImagePixels, _options.Logger));
            steps = steps.Skip(1);
        }
        foreach (var step in steps) input = step.Transform(input);
        return input;
    }

    private void CheckInputColumn(DataViewSchema schema)
    {
        bool isPath = EfficientNetFeaturizerEstimator.CheckInputColumn(schema, InputColumnName);
        if (isPath != _columns.InputIsPath)
            throw new ArgumentOutOfRangeException(nameof(schema), $"Schema mismatch for input column '{InputColumnName}': expected " +
                $"{(_columns.InputIsPath ? "String (an image path)" : "Image")}, as when the featurizer was fitted, got {schema[InputColumnName].Type}.");
    }

    /// <summary>The row-at-a-time mapper of the standard chain, used by prediction engines.</summary>
    /// <param name="inputSchema">Schema of the rows to map.</param>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => ((ITransformer)_chain).GetRowToRowMapper(inputSchema);

    /// <summary>Writes the standard chain: the saved model needs only ML.NET and ONNX Runtime to load.</summary>
    void ICanSaveModel.Save(ModelSaveContext ctx) => ((ICanSaveModel)_chain).Save(ctx);

    /// <summary>Frees the ONNX Runtime sessions.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _scorer.Dispose();
        foreach (var transformer in _chain) (transformer as IDisposable)?.Dispose();
    }
}
