using Microsoft.Extensions.Logging;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Data;
using Microsoft.ML.EfficientNet.Quantization;
using Microsoft.ML.EfficientNet.Onnx;
using Microsoft.ML.EfficientNet.Weights;

namespace Microsoft.ML.EfficientNet.Scoring;

/// <summary>
/// The ONNX model a featurizer scores with: pooled features only, preprocessing (crop, normalisation) in the graph, input
/// and output named after the featurizer's columns.
/// </summary>
/// <param name="Onnx">Batched model: [N, 3, S, S] → [N, width], for the batched path.</param>
/// <param name="RowOnnx">The same network with a rank-1 [width] output, for ML.NET's row-at-a-time <c>ApplyOnnxModel</c>.</param>
/// <param name="Metadata">Recipe and weight provenance.</param>
/// <param name="InputName">The pixels column, also the ONNX input name.</param>
/// <param name="OutputName">The features column, also the ONNX output name.</param>
/// <param name="WeightsDescription">Where the weights came from.</param>
/// <param name="Quantization">How the int8 model compares with the fp32 one, or null for fp32.</param>
internal sealed record FeaturizerModel(byte[] Onnx, byte[] RowOnnx, OnnxModelMetadata Metadata, string InputName, string OutputName, string WeightsDescription,
    QuantizationReport? Quantization = null)
{
    /// <summary>This model quantised to int8 with ranges calibrated on <paramref name="calibration"/>.</summary>
    public FeaturizerModel Quantize(LabeledImageSet calibration, QuantizationOptions options, ILogger? logger)
    {
        var result = EfficientNetQuantizer.Quantize(Onnx, calibration, options);
        var r = result.Report;
        logger?.LogInformation("Quantised EfficientNet-{Variant} to int8 on {Images} calibration images: mean cosine {Cosine:F4} to the fp32 features, in {Seconds:F1} s.",
            Metadata.Variant, r.Images, r.MeanCosine, r.Seconds);
        return this with { Onnx = result.Model, RowOnnx = OnnxModelEditing.WithRowOutput(result.Model, OutputName, Metadata.FeatureWidth), Quantization = r };
    }

    /// <summary>Resolves the weights the options name (file, cache/download, or explicit random) into a featurizer model.</summary>
    public static FeaturizerModel Create(EfficientNetVariant variant, EfficientNetFeaturizerOptions options, string inputName, string outputName)
    {
        CheckOptions(options);

        byte[] onnx;
        string description;
        if (options.WeightsPath is { } path && IsOnnx(path))
        {
            onnx = IO.FileStat.ReadAllBytes(path, "model");
            var metadata = OnnxModelValidation.Check(onnx, path);
            if (metadata.Variant != variant.Name)
                throw new ArgumentException($"'{path}' is an EfficientNet-{metadata.Variant} model but the featurizer was asked for {variant.Name}.", nameof(options));
            if (metadata.Bare)
                throw new ArgumentException($"'{path}' is a bare model (normalised input); the featurizer needs one with preprocessing in the graph. Export it without --bare.", nameof(options));
            if (options.Resolution is { } r && r != metadata.Resolution)
                throw new ArgumentException($"'{path}' has a fixed input of {metadata.Resolution} px; Resolution {r} cannot be applied to an ONNX file. Export it again with --resolution {r}.", nameof(options));
            if (!OnnxModelEditing.Signature(onnx).Outputs.Contains(OnnxExportOptions.FeaturesOutputName))
                throw new ArgumentException($"'{path}' has no '{OnnxExportOptions.FeaturesOutputName}' output. Export it with --features-only or --features.", nameof(options));
            description = path;
        }
        else
        {
            // The classifier is not exported, so its class count does not matter.
            var checkpoint = WeightsResolver.Resolve(new WeightsRequest(variant)
            {
                File = options.WeightsPath,
                Format = options.WeightFormat,
                FileDescription = "WeightsPath",
                Pretrained = options.Pretrained,
                CacheDirectory = options.CacheDirectory,
                AllowDownload = options.AllowDownload,
                UseRandomWeights = options.UseRandomWeights,
                RandomSeed = options.RandomSeed,
                ReplaceHead = true,
                Logger = options.Logger,
            });
            if (options.Resolution is { } resolution && checkpoint.Recipe is { } fileRecipe &&
                RecipeMetadata.DescribeOverride($"Resolution {resolution}", checkpoint.Origin, fileRecipe.Preprocessing, fileRecipe.Preprocessing.WithCropSize(resolution)) is { } note)
                options.Logger?.LogInformation("{Override}", note);
            // A second Fit of the same weights reuses the first one's export (the graph is not written again), from
            // memory in the same process, from the cache folder in a later one.
            onnx = OnnxExportCache.GetOrExport(checkpoint, OnnxOutputs.Features, options.Resolution,
                options.CacheExports ? OnnxExportCache.Folder(options.CacheDirectory) : null, options.Logger);
            description = checkpoint.Origin;
        }

        var renamed = OnnxModelEditing.RenameValues(onnx, new Dictionary<string, string>
        {
            [OnnxExportOptions.ImageInputName] = inputName,
            [OnnxExportOptions.FeaturesOutputName] = outputName,
        });
        var recorded = OnnxModelMetadata.Read(renamed);
        return new FeaturizerModel(renamed, OnnxModelEditing.WithRowOutput(renamed, outputName, recorded.FeatureWidth), recorded, inputName, outputName, description);
    }

    /// <summary>The checks of the options alone, which need no file: the estimator's schema makes them too.</summary>
    public static void CheckOptions(EfficientNetFeaturizerOptions options)
    {
        if (options.UseRandomWeights && options.WeightsPath is not null)
            throw new ArgumentException("Set either WeightsPath or UseRandomWeights, not both.", nameof(options));
        if (options.Resolution is < 32)
            throw new ArgumentOutOfRangeException(nameof(options), options.Resolution, "Resolution must be at least 32 pixels.");
        if (options.MaxImagePixels < 1)
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxImagePixels, "MaxImagePixels must be at least 1.");
    }

    private static bool IsOnnx(string path) =>
        path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) ||
        (File.Exists(path) && CheckpointFileKind.Detect(path) == CheckpointFileKind.Kind.Onnx);
}
