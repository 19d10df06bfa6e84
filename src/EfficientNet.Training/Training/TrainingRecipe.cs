using Microsoft.Extensions.Logging;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Preprocessing;
using Microsoft.ML.EfficientNet.Weights;

namespace EfficientNet.Training.Training;

/// <summary>
/// The preprocessing a run trains and evaluates with, and the metadata its weight files carry so that the recipe travels
/// with them (<see cref="RecipeMetadata"/>).
/// </summary>
internal static class TrainingRecipe
{
    /// <summary>
    /// The run's recipe: <see cref="EfficientNetTrainingOptions.Recipe"/> when set; else the recipe the initial weights
    /// file records (its mean, std, crop fraction and interpolation, at <see cref="EfficientNetTrainingOptions.ImageSize"/>
    /// when set, else at its own image size); else a centre crop at the image size (the option, else the published crop of
    /// the initial weights, else the variant's resolution) with the published statistics of the initial weights, or
    /// ImageNet's from scratch. What the options change of a recorded recipe is logged.
    /// </summary>
    /// <exception cref="ArgumentException">Recipe and ImageSize disagree on the image size.</exception>
    public static PreprocessingRecipe Choose(EfficientNetTrainingOptions options, EfficientNetCheckpoint? initial, EfficientNetVariant variant, ILogger? log)
    {
        var recorded = initial?.Recipe?.Preprocessing;
        PreprocessingRecipe recipe;
        string overriding;
        if (options.Recipe is { } given)
        {
            if (options.ImageSize is { } size && size != given.CropSize)
                throw new ArgumentException($"Recipe crop size {given.CropSize} differs from ImageSize {size}.", nameof(options));
            (recipe, overriding) = (given, "Recipe");
        }
        else if (recorded is not null)
        {
            (recipe, overriding) = (options.ImageSize is { } size ? recorded.WithCropSize(size) : recorded, $"ImageSize {options.ImageSize}");
        }
        else
        {
            // Published weights keep their statistics; their resize/crop pair fits only their own size.
            int size = options.ImageSize ?? initial?.Preprocessing.CropSize ?? variant.Resolution;
            return PreprocessingRecipe.Centered(size, PreprocessingRecipe.DefaultCropFraction, initial?.Preprocessing.Mean, initial?.Preprocessing.Std);
        }
        if (recorded is not null && RecipeMetadata.DescribeOverride(overriding, initial!.Origin, recorded, recipe) is { } note)
            log?.LogInformation("{Override}", note);
        return recipe;
    }

    /// <summary>The <c>__metadata__</c> every weight file of a run carries: variant, recipe, labels and conventions.</summary>
    public static IReadOnlyDictionary<string, string> Metadata(EfficientNetSpec spec, WeightSource source, PreprocessingRecipe recipe, IReadOnlyList<string> classes) =>
        new RecipeMetadata(spec.Variant.Name, recipe) { Labels = classes, Source = source }.ToMetadata();
}
