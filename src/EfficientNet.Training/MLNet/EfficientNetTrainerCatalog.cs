using EfficientNet.Training.MLNet;

namespace Microsoft.ML;

/// <summary>EfficientNet trainers for ML.NET.</summary>
public static partial class EfficientNetTrainerCatalog
{
    /// <summary>
    /// Fine-tunes an EfficientNet from the variant's ImageNet weights (or a checkpoint file, or from scratch with
    /// <c>InitialWeights = null</c>) on an image column and a key label column with TorchSharp, and returns a model that
    /// scores with ONNX Runtime: <c>Score</c> (class probabilities) and <c>PredictedLabel</c>. When the exported model is
    /// no better than guessing, the options' logger gets a warning and <c>model.Training.ChanceWarning</c> says why.
    /// </summary>
    /// <param name="catalog">The multiclass trainers catalog (<c>mlContext.MulticlassClassification.Trainers</c>).</param>
    /// <param name="options">Variant, epochs, batch size, learning rates, mode, weights, validation set, device, callback; default: B0 fine-tuned from its ImageNet weights.</param>
    /// <example>
    /// <code>
    /// var pipeline = mlContext.Transforms.Conversion.MapValueToKey("Label")
    ///     .Append(mlContext.Transforms.LoadImages("Image", folder, "Path"))
    ///     .Append(mlContext.MulticlassClassification.Trainers.EfficientNet(new() { Variant = "b0", Epochs = 5 }))
    ///     .Append(mlContext.Transforms.Conversion.MapKeyToValue("PredictedLabel"));
    /// </code>
    /// </example>
    public static EfficientNetMulticlassTrainer EfficientNet(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        EfficientNetMulticlassTrainerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new EfficientNetMulticlassTrainer(options ?? new EfficientNetMulticlassTrainerOptions());
    }
}
