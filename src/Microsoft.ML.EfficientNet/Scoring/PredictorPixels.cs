using Microsoft.ML.Data;
using Microsoft.ML.EfficientNet.Onnx;
using Microsoft.ML.EfficientNet.Preprocessing;

namespace Microsoft.ML.EfficientNet.Scoring;

/// <summary>
/// The predictor's preprocessing, as deployed: ML.NET's <c>ResizeImages</c> and <c>ExtractPixels</c> from the model's
/// recorded recipe, then, for a bare model only, the crop and normalisation the graph does not do itself. Turns a batch
/// of decoded images into the session's input.
/// </summary>
internal sealed class PredictorPixels
{
    private const string ImageColumn = "Image", ResizedColumn = "Resized", PixelsColumn = "Pixels";

    private readonly ITransformer _pixels;
    private readonly PreprocessingRecipe _recipe;
    private readonly bool _bare;
    private readonly int _inputLength;

    /// <summary>Fits the resize and pixel extraction of <paramref name="metadata"/>'s recipe.</summary>
    /// <param name="metadata">The model's recorded preprocessing, and whether the graph normalises itself.</param>
    /// <param name="inputLength">Floats in one image of the session's input.</param>
    public PredictorPixels(OnnxModelMetadata metadata, int inputLength)
    {
        var ml = new MLContext(seed: 0);
        _pixels = RecipeTransforms.ResizeAndExtract(ml.Transforms, metadata.Preprocessing, ImageColumn, ResizedColumn, PixelsColumn).Fit(new MLImageListDataView([]));
        _recipe = metadata.Preprocessing;
        _bare = metadata.Bare;
        _inputLength = inputLength;
    }

    /// <summary>
    /// The input of the images that are not null, packed in order, and the indices of those whose pixels could be
    /// extracted; an image whose pixels could not be is handed to <paramref name="failed"/> with its index.
    /// </summary>
    /// <param name="images">The batch, null where an image could not be loaded.</param>
    /// <param name="failed">Receives an image's index and why its pixels could not be extracted.</param>
    public (float[] Input, List<int> Scored) Extract(IReadOnlyList<MLImage?> images, Action<int, Exception> failed)
    {
        int resizeLength = 3 * _recipe.ResizeSize * _recipe.ResizeSize;
        var loaded = Enumerable.Range(0, images.Count).Where(i => images[i] is not null).ToList();
        var input = new float[loaded.Count * _inputLength];
        var scored = new List<int>(loaded.Count);
        var view = _pixels.Transform(new MLImageListDataView(loaded.Select(i => images[i]!).ToList()));
        using var cursor = view.GetRowCursor([view.Schema[PixelsColumn]]);
        var getPixels = cursor.GetGetter<VBuffer<float>>(view.Schema[PixelsColumn]);
        VBuffer<float> buffer = default;
        for (int r = 0; r < loaded.Count && cursor.MoveNext(); r++)
        {
            int i = loaded[r];
            try
            {
                getPixels(ref buffer);
                var values = buffer.GetValues();
                if (values.Length != resizeLength) throw new InvalidDataException($"expected {resizeLength} pixel values, got {values.Length}");
                var target = input.AsSpan(scored.Count * _inputLength, _inputLength);
                if (_bare) _recipe.Normalize(values, target);
                else values.CopyTo(target);
                scored.Add(i);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                failed(i, e);
            }
        }
        return (input, scored);
    }
}
