using EfficientNet.Training.Training;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Data;
using Microsoft.ML.EfficientNet.Onnx;
using Microsoft.ML.EfficientNet.Preprocessing;
using Microsoft.ML.EfficientNet.Scoring;
using Microsoft.ML.Transforms;
using Microsoft.ML.Transforms.Image;

namespace EfficientNet.Training.MLNet;

/// <summary>
/// ML.NET multiclass trainer that fine-tunes an EfficientNet with TorchSharp (from the variant's ImageNet weights by
/// default; <c>InitialWeights = null</c> trains from scratch) and returns a model that scores
/// with the exported ONNX model through ONNX Runtime: <c>Score</c> (class probabilities, what
/// <c>mlContext.MulticlassClassification.Evaluate</c> reads) and <c>PredictedLabel</c> (keys of the label's type, so
/// <c>MapKeyToValue</c> gives back the original labels). The model is made of built-in ML.NET transforms, so it saves with
/// <c>mlContext.Model.Save</c> and loads in an app without this library.
/// </summary>
/// <remarks>
/// <para><b>Estimator characteristics</b></para>
/// <list type="table">
/// <item><term>Machine learning task</term><description>Multiclass classification of images</description></item>
/// <item><term>Input columns</term><description>Image (<see cref="MLImage"/>), label (key)</description></item>
/// <item><term>Output columns</term><description>Score (vector of float), PredictedLabel (a one-element vector of key: ML.NET's ONNX scorer cannot output scalars)</description></item>
/// <item><term>Is normalization required?</term><description>No: preprocessing is inside the model</description></item>
/// <item><term>Required NuGet in addition to Microsoft.ML</term><description>Microsoft.ML.ImageAnalytics, Microsoft.ML.OnnxTransformer, an ONNX Runtime and a libtorch build to train</description></item>
/// </list>
/// <para>The scoring chain is built in an MLContext of its own (a trainers catalog does not expose its context); GPU and
/// thread settings for scoring come from the context that loads the saved model.</para>
/// </remarks>
public sealed class EfficientNetMulticlassTrainer : IEstimator<EfficientNetMulticlassModel>
{
    private readonly EfficientNetMulticlassTrainerOptions _options;

    internal EfficientNetMulticlassTrainer(EfficientNetMulticlassTrainerOptions options)
    {
        _options = options;
    }

    /// <summary>Trains and builds the scoring chain.</summary>
    /// <param name="input">Training data with the image and key label columns.</param>
    public EfficientNetMulticlassModel Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var train = new DataViewImageSet(input, _options.ImageColumnName, _options.LabelColumnName);
        var validation = _options.ValidationSet is { } v ? new DataViewImageSet(v, _options.ImageColumnName, _options.LabelColumnName, train.Classes) : null;
        var result = EfficientNetTrainer.Train(_options.ToTrainingOptions(), train, validation);
        if (result.OnnxPath is null || result.Status == TrainingStatus.Diverged)
            throw new InvalidOperationException($"EfficientNet training produced no model: {result.Message}");
        var chain = ScoringChainOf(File.ReadAllBytes(result.OnnxPath), result.Recipe, result.Classes).Fit(input);
        return new EfficientNetMulticlassModel(chain, result);
    }

    /// <summary>
    /// The input schema plus <c>Score</c> and <c>PredictedLabel</c>, from types alone: no model is built and no ONNX
    /// Runtime session is opened (only <see cref="Fit"/> trains).
    /// </summary>
    /// <param name="inputSchema">Schema of the training data.</param>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        var image = inputSchema.FirstOrDefault(c => c.Name == _options.ImageColumnName);
        if (image.Name is null) throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Could not find input column '{_options.ImageColumnName}'.");
        if (image.ItemType is not ImageDataViewType || image.Kind != SchemaShape.Column.VectorKind.Scalar)
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Schema mismatch for input column '{_options.ImageColumnName}': expected Image, got {image.ItemType}.");
        var label = inputSchema.FirstOrDefault(c => c.Name == _options.LabelColumnName);
        if (label.Name is null) throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Could not find label column '{_options.LabelColumnName}'.");
        if (!label.IsKey) throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Schema mismatch for label column '{_options.LabelColumnName}': expected Key<UInt32>, got {label.ItemType}.");
        // From types alone: ApplyOnnxModel types the model's rank-1 [classes] softmax as a known-size vector of Single and
        // its one-element label as a known-size vector of Text, which a copy of the pixels and their conversion to text
        // also are; the label keys then come from MapValueToKey as in the fitted chain.
        var ml = new MLContext(_options.Seed);
        var chain = Chain();
        var modelTypes = ml.Transforms.CopyColumns(_options.ScoreColumnName, chain.PixelsColumn)
            .Append(ml.Transforms.Conversion.ConvertType(chain.ValueColumn, chain.PixelsColumn, DataKind.String));
        return chain.OutputSchema(ml.Transforms, inputSchema, modelTypes, Keys(ml, chain, keys: null), chain.ValueColumn);
    }

    private sealed class KeyRow
    {
        public string Value { get; set; } = "";
    }

    /// <summary>The columns of the scoring chain: temporary ones are named after <c>PredictedLabel</c>.</summary>
    private ScoringChain Chain() => new(_options.ImageColumnName, inputIsPath: false, _options.PredictedLabelColumnName);

    /// <summary>The label strings the model outputs as keys in the training classes' order, so PredictedLabel has the label column's key values.</summary>
    private ValueToKeyMappingEstimator Keys(MLContext ml, ScoringChain chain, IDataView? keys) =>
        ml.Transforms.Conversion.MapValueToKey(_options.PredictedLabelColumnName, chain.ValueColumn, keyOrdinality: ValueToKeyMappingEstimator.KeyOrdinality.ByOccurrence, keyData: keys);

    private EstimatorChain<ColumnSelectingTransformer> ScoringChainOf(byte[] exported, PreprocessingRecipe recipe, IReadOnlyList<string> classes)
    {
        var ml = new MLContext(_options.Seed);
        var chain = Chain();
        string score = _options.ScoreColumnName;
        byte[] onnx = OnnxModelEditing.AsMlNetClassifier(exported, chain.PixelsColumn, score, chain.ValueColumn, classes);
        var keys = ml.Data.LoadFromEnumerable(classes.Select(c => new KeyRow { Value = c }).ToList());
        return chain.Create(ml.Transforms, recipe, onnx, [score, chain.ValueColumn], gpuDeviceId: null, fallbackToCpu: false, Keys(ml, chain, keys), chain.ValueColumn);
    }
}
