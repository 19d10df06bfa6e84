using Microsoft.Extensions.Logging;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.EfficientNet.Preprocessing;
using Microsoft.ML.Transforms.Image;

namespace Microsoft.ML.EfficientNet.Data;

/// <summary>
/// Evaluation batches made exactly as the exported model sees its input: ML.NET's <c>ResizeImages</c> and
/// <c>ExtractPixels</c> (<see cref="RecipeTransforms"/>), then the recipe's crop and normalisation
/// (<see cref="PreprocessingRecipe.Normalize"/>), the same float constants as the ONNX graph. Validation accuracy during
/// training is therefore the accuracy of the deployed model, with no train/serve skew.
/// </summary>
internal sealed class EvaluationBatches
{
    private readonly LabeledImageSet _images;
    private readonly PreprocessingRecipe _recipe;
    private readonly int _batchSize;
    private readonly bool _normalize;
    private readonly ILogger? _logger;
    private readonly ImageDecoder? _decoder;

    /// <summary>Creates the stream.</summary>
    /// <param name="images">Images to evaluate, in order.</param>
    /// <param name="recipe">Resize, crop and normalisation of the model.</param>
    /// <param name="batchSize">Images per batch.</param>
    /// <param name="logger">Receives warnings about images that fail to load (they are skipped).</param>
    /// <param name="normalize">True (default): cropped and normalised network input. False: the raw 0–255 pixels of the
    /// resize square, which is what an exported ONNX model with preprocessing in its graph takes.</param>
    /// <param name="decoder">The run's decoder (EXIF orientation, pixel limit, which failures were already reported); default:
    /// a decoder of this stream's own, with the defaults.</param>
    public EvaluationBatches(LabeledImageSet images, PreprocessingRecipe recipe, int batchSize, ILogger? logger = null, bool normalize = true, ImageDecoder? decoder = null)
    {
        _decoder = decoder;
        _normalize = normalize;
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(recipe);
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "Batch size must be at least 1.");
        _images = images;
        _recipe = recipe;
        _batchSize = batchSize;
        _logger = logger;
    }

    /// <summary>
    /// All images in order, in batches of CHW floats; images that fail to load are skipped, with a warning unless the
    /// decoder has already reported them.
    /// </summary>
    public IEnumerable<ImageBatch> All()
    {
        var ml = new MLContext(seed: 0);
        IDataView data = new ImageSetDataView(_images, _logger, _decoder ?? new ImageDecoder(logger: _logger));
        var pixels = RecipeTransforms.ResizeAndExtract(ml.Transforms, _recipe, ImageSetDataView.ImageColumn, "Resized", "Pixels").Fit(data).Transform(data);
        int crop = _normalize ? _recipe.CropSize : _recipe.ResizeSize, length = 3 * crop * crop;
        // The image column is requested too so that ML.NET keeps this cursor on one thread (see BatchedFeaturizerDataView).
        using var cursor = pixels.GetRowCursor([pixels.Schema["Pixels"], pixels.Schema[ImageSetDataView.IndexColumn], pixels.Schema[ImageSetDataView.ImageColumn]]);
        var getPixels = cursor.GetGetter<VBuffer<float>>(pixels.Schema["Pixels"]);
        var getIndex = cursor.GetGetter<int>(pixels.Schema[ImageSetDataView.IndexColumn]);
        VBuffer<float> buffer = default;
        var batch = new float[_batchSize * length];
        var labels = new long[_batchSize];
        int count = 0, index = 0;
        while (cursor.MoveNext())
        {
            getPixels(ref buffer);
            getIndex(ref index);
            if (_normalize) _recipe.Normalize(buffer.GetValues(), batch.AsSpan(count * length, length));
            else buffer.GetValues().CopyTo(batch.AsSpan(count * length, length));
            labels[count++] = _images.Label(index);
            if (count == _batchSize)
            {
                yield return new ImageBatch(batch, labels, count, crop, ChannelsLast: false);
                batch = new float[_batchSize * length];
                labels = new long[_batchSize];
                count = 0;
            }
        }
        if (count > 0) yield return new ImageBatch(batch, labels, count, crop, ChannelsLast: false);
    }
}
