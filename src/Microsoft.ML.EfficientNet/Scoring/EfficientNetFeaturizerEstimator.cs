using Microsoft.ML.Data;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Data;
using Microsoft.ML.EfficientNet.Onnx;
using Microsoft.ML.Transforms.Image;
using Microsoft.ML.EfficientNet.Runtime;

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

    /// <summary>
    /// Drops the exported ONNX models this process keeps in memory for later fits; the files in the cache folder stay.
    /// The next <see cref="Fit"/> of the same weights then reads the export from the folder, as a new process does.
    /// </summary>
    /// <remarks>
    /// Public for <c>efficientnet bench</c>, which times start-up with the export only on disk and lives outside this
    /// assembly; whether it stays in the public surface is for the review of that surface to decide.
    /// </remarks>
    internal static void ClearExportCache() => OnnxExportCache.Clear();

    /// <summary>Resolves the weights (loading or downloading them once), builds the scoring chain and fits it.</summary>
    /// <param name="input">Data with the image column.</param>
    /// <exception cref="FileNotFoundException"><see cref="EfficientNetFeaturizerOptions.WeightsPath"/> names no file, or
    /// the published weights are neither cached nor allowed to download.</exception>
    public EfficientNetFeaturizerTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        bool inputIsPath = CheckInputColumn(input.Schema, InputColumnName);
        var model = _model ??= FeaturizerModel.Create(Variant, _options, ScoringChain.PixelsColumnOf(OutputColumnName), OutputColumnName);
        var chain = new ScoringChain(InputColumnName, inputIsPath, OutputColumnName, _options.ImageFolder);
        // Calibrated on this Fit's data, so the fp32 model is what stays cached.
        if (_options.Quantization is { } quantization) model = model.Quantize(CalibrationImages(input, chain, quantization.CalibrationImages), quantization, _options.Logger);
        // The batched session is opened first: a GPU that cannot be used is reported here with its cause.
        var session = new EfficientNetOnnxSession(model.Onnx, model.OutputName, _options.GpuDeviceId, _options.FallbackToCpu,
            _options.IntraOpThreads, _options.ConcurrentBatches, _options.Logger);
        try
        {
            // ApplyOnnxModel opens the chain's own session, disposed with the transformer. The chain's Fit can fail only on
            // a schema mismatch, which the input check above has ruled out.
            var standard = chain.Create(_catalog, model.Metadata.Preprocessing, model.RowOnnx, [model.OutputName], _options.GpuDeviceId, _options.FallbackToCpu)
                .Fit(input);
            return new EfficientNetFeaturizerTransformer(standard, session, model, Variant, chain, _options);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>The first images of the data being fitted: paths (resolved as <c>LoadImages</c> resolves them) or decoded images.</summary>
    private static LabeledImageSet CalibrationImages(IDataView input, ScoringChain chain, int count)
    {
        if (!chain.InputIsPath) return new DataViewImageSet(input, chain.InputColumn, count);
        var paths = new List<string>(count);
        using var cursor = input.GetRowCursor([input.Schema[chain.InputColumn]]);
        var getPath = cursor.GetGetter<ReadOnlyMemory<char>>(input.Schema[chain.InputColumn]);
        ReadOnlyMemory<char> value = default;
        while (paths.Count < count && cursor.MoveNext())
        {
            getPath(ref value);
            if (value.IsEmpty) continue;
            paths.Add(chain.ImageFolder is { } folder ? Path.Combine(folder, value.ToString()) : value.ToString());
        }
        if (paths.Count == 0) throw new ArgumentException($"Column '{chain.InputColumn}' has no image paths to calibrate the int8 model on.", nameof(input));
        return new FileImageSet(paths, new int[paths.Count], [FileImageSet.UnlabelledClass]);
    }

    /// <summary>
    /// The input schema plus the features column, from types alone: no weights are read and no ONNX Runtime session is
    /// opened (only <see cref="Fit"/> does that).
    /// </summary>
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
        FeaturizerModel.CheckOptions(_options);
        // ApplyOnnxModel types the model's rank-1 [head] float output as a known-size vector of Single without
        // annotations, as ExtractPixels types the pixels: a copy of the pixels column has the features column's type.
        var chain = new ScoringChain(InputColumnName, column.ItemType is TextDataViewType, OutputColumnName, _options.ImageFolder);
        return chain.OutputSchema(_catalog, inputSchema, _catalog.CopyColumns(OutputColumnName, chain.PixelsColumn));
    }

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
