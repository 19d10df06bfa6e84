using EfficientNet.Training.MLNet;

namespace Microsoft.ML;

/// <summary>EfficientNet trainers for ML.NET.</summary>
public static class EfficientNetTrainerCatalog
{
    /// <summary>
    /// Fine-tunes (or trains from scratch) an EfficientNet on an image column and a key label column with TorchSharp, and
    /// returns a model that scores with ONNX Runtime: <c>Score</c> (class probabilities) and <c>PredictedLabel</c>.
    /// </summary>
    /// <param name="catalog">The multiclass trainers catalog (<c>mlContext.MulticlassClassification.Trainers</c>).</param>
    /// <param name="options">Variant, epochs, batch size, learning rates, mode, weights, validation set, device, callback; default: B0 from scratch.</param>
    /// <example>
    /// <code>
    /// var pipeline = mlContext.Transforms.Conversion.MapValueToKey("Label")
    ///     .Append(mlContext.Transforms.LoadImages("Image", folder, "Path"))
    ///     .Append(mlContext.MulticlassClassification.Trainers.EfficientNet(new() { Variant = "b0", InitialWeights = "pretrained", Epochs = 5 }))
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
