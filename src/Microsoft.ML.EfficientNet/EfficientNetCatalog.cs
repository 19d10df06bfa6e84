using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Scoring;

namespace Microsoft.ML;

/// <summary>EfficientNet transforms for ML.NET pipelines.</summary>
public static class EfficientNetCatalog
{
    /// <summary>Default name of the features column.</summary>
    public const string DefaultOutputColumnName = "Features";

    /// <summary>Default name of the image column.</summary>
    public const string DefaultInputColumnName = "Image";

    /// <summary>
    /// Featurizes images with a pretrained EfficientNet: a flat vector of pooled features per image (1280 floats for B0,
    /// 1280, 1408, 1536, 1792, 2048, 2304, 2560 for B1–B7), for an ML.NET trainer to learn from.
    /// </summary>
    /// <param name="catalog">The transforms catalog (<c>mlContext.Transforms</c>); its context's seed, GPU and logging settings apply.</param>
    /// <param name="variant">One of <c>b0</c> … <c>b7</c> (also <c>efficientnet_b4</c>, <c>B4</c>).</param>
    /// <param name="outputColumnName">The features column; default <c>Features</c>.</param>
    /// <param name="inputColumnName">
    /// The input column; default <c>Image</c>. Either decoded images (<see cref="Data.MLImage"/>, from <c>LoadImages</c>) or
    /// text: image file paths, resolved against <see cref="EfficientNetFeaturizerOptions.ImageFolder"/>, which lets the
    /// featurizer decode large JPEGs at a reduced scale (<see cref="EfficientNetFeaturizerOptions.ReducedScaleJpegDecoding"/>).
    /// </param>
    /// <param name="options">Weights, resolution, batching, GPU and error handling; default: pretrained torchvision weights, CPU.</param>
    /// <returns>An estimator whose fitted transformer saves as plain ML.NET transforms.</returns>
    /// <exception cref="ArgumentException">Unknown variant; the message lists the valid ones.</exception>
    /// <example>
    /// <code>
    /// var pipeline = mlContext.Transforms.LoadImages("Image", imageFolder, "Path")
    ///     .Append(mlContext.Transforms.EfficientNetFeaturizer("b4"))
    ///     .Append(mlContext.MulticlassClassification.Trainers.SdcaMaximumEntropy("Label", "Features"));
    /// </code>
    /// or, from file paths, with large JPEGs decoded at a reduced scale:
    /// <code>
    /// var options = new EfficientNetFeaturizerOptions { ImageFolder = imageFolder, ReducedScaleJpegDecoding = true };
    /// var pipeline = mlContext.Transforms.EfficientNetFeaturizer("b4", inputColumnName: "Path", options: options)
    ///     .Append(mlContext.MulticlassClassification.Trainers.SdcaMaximumEntropy("Label", "Features"));
    /// </code>
    /// </example>
    public static EfficientNetFeaturizerEstimator EfficientNetFeaturizer(this TransformsCatalog catalog, string variant,
        string outputColumnName = DefaultOutputColumnName, string inputColumnName = DefaultInputColumnName, EfficientNetFeaturizerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentException.ThrowIfNullOrWhiteSpace(outputColumnName);
        ArgumentException.ThrowIfNullOrWhiteSpace(inputColumnName);
        var parsed = EfficientNetVariant.Parse(variant);
        options ??= new EfficientNetFeaturizerOptions();
        if (options.BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(options), options.BatchSize, "BatchSize must be at least 1.");
        return new EfficientNetFeaturizerEstimator(catalog, parsed, outputColumnName, inputColumnName, options);
    }
}
