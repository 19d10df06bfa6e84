using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

namespace Microsoft.ML.EfficientNet.Preprocessing;

/// <summary>
/// The ML.NET half of a <see cref="PreprocessingRecipe"/>: shorter-side resize with centre crop to the resize square, then
/// planar RGB pixels 0–255. The featurizer's and trainer's saved chains, and training-time evaluation, all use this one
/// definition; the crop to the network size and the normalisation follow in the ONNX graph or in
/// <see cref="PreprocessingRecipe.Normalize"/>.
/// </summary>
internal static class RecipeTransforms
{
    /// <summary>ResizeImages(resize, resize, IsoCrop, Center) → ExtractPixels(planar RGB, scale 1, offset 0).</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="recipe">Gives the resize size.</param>
    /// <param name="imageColumn">An <see cref="MLImage"/> column.</param>
    /// <param name="resizedColumn">Temporary column for the resized image.</param>
    /// <param name="pixelsColumn">Output column: 3 × resize × resize floats.</param>
    public static EstimatorChain<ImagePixelExtractingTransformer> ResizeAndExtract(TransformsCatalog catalog, PreprocessingRecipe recipe,
        string imageColumn, string resizedColumn, string pixelsColumn) =>
        new EstimatorChain<ITransformer>().Append(Resize(catalog, recipe, imageColumn, resizedColumn)).Append(Extract(catalog, resizedColumn, pixelsColumn));

    /// <summary>ResizeImages(resize, resize, IsoCrop, Center): the shorter side scaled to the resize size, the longer one centre-cropped.</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="recipe">Gives the resize size.</param>
    /// <param name="imageColumn">An <see cref="MLImage"/> column.</param>
    /// <param name="resizedColumn">Output column: the resize × resize image.</param>
    public static ImageResizingEstimator Resize(TransformsCatalog catalog, PreprocessingRecipe recipe, string imageColumn, string resizedColumn)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(recipe);
        int size = recipe.ResizeSize;
        return catalog.ResizeImages(resizedColumn, size, size, imageColumn, ImageResizingEstimator.ResizingKind.IsoCrop, ImageResizingEstimator.Anchor.Center);
    }

    /// <summary>ExtractPixels(planar RGB, scale 1, offset 0): what the ONNX graph's in-graph normalisation expects.</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="resizedColumn">A resized <see cref="MLImage"/> column.</param>
    /// <param name="pixelsColumn">Output column: 3 × height × width floats, 0–255.</param>
    public static ImagePixelExtractingEstimator Extract(TransformsCatalog catalog, string resizedColumn, string pixelsColumn)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return catalog.ExtractPixels(pixelsColumn, resizedColumn, ImagePixelExtractingEstimator.ColorBits.Rgb, ImagePixelExtractingEstimator.ColorsOrder.ARGB,
            interleavePixelColors: false, offsetImage: 0, scaleImage: 1);
    }
}
