using EfficientNet.Training.Data;
using EfficientNet.Training.Training;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Onnx;
using Microsoft.ML.EfficientNet.Preprocessing;
using Microsoft.ML.EfficientNet.Weights;
using Microsoft.ML.Transforms;
using Microsoft.ML.Transforms.Image;

namespace EfficientNet.Training.MLNet;

/// <summary>
/// ML.NET multiclass trainer that fine-tunes (or trains) an EfficientNet with TorchSharp and returns a model that scores
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
        var chain = ScoringChain(File.ReadAllBytes(result.OnnxPath), result.Recipe, result.Classes).Fit(input);
        return new EfficientNetMulticlassModel(chain, result);
    }

    /// <summary>The input schema plus <c>Score</c> and <c>PredictedLabel</c>.</summary>
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
        // The scoring chain decides the output columns; build it over a small random-weight stand-in of the same shape.
        var stand = RandomWeights.Create(EfficientNetSpec.Create(EfficientNetVariant.B0, numClasses: 2));
        var recipe = PreprocessingRecipe.Centered(32);
        byte[] onnx = EfficientNetOnnxExporter.Export(stand, new OnnxExportOptions { Outputs = OnnxOutputs.LogitsAndFeatures, Preprocessing = recipe });
        return ScoringChain(onnx, recipe, ["0", "1"]).GetOutputSchema(inputSchema);
    }

    private sealed class KeyRow
    {
        public string Value { get; set; } = "";
    }

    private IEstimator<ITransformer> ScoringChain(byte[] exported, PreprocessingRecipe recipe, IReadOnlyList<string> classes)
    {
        var ml = new MLContext(_options.Seed);
        string score = _options.ScoreColumnName, predicted = _options.PredictedLabelColumnName;
        string resized = predicted + ".EfficientNetResized", pixels = predicted + ".EfficientNetPixels", value = predicted + ".EfficientNetValue";
        byte[] onnx = OnnxModelEditing.AsMlNetClassifier(exported, pixels, score, value, classes);
        // Keys follow the training classes' order, so PredictedLabel has the label column's key values.
        var keys = ml.Data.LoadFromEnumerable(classes.Select(c => new KeyRow { Value = c }).ToList());
        return RecipeTransforms.ResizeAndExtract(ml.Transforms, recipe, _options.ImageColumnName, resized, pixels)
            .Append(ml.Transforms.ApplyOnnxModel([score, value], [pixels], new MemoryStream(onnx, writable: false),
                shapeDictionary: null, gpuDeviceId: null, fallbackToCpu: false, recursionLimit: 100))
            .Append(ml.Transforms.Conversion.MapValueToKey(predicted, value, keyOrdinality: ValueToKeyMappingEstimator.KeyOrdinality.ByOccurrence, keyData: keys))
            .Append(ml.Transforms.DropColumns(resized, pixels, value));
    }
}
