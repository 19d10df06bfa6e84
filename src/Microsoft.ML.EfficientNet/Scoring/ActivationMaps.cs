using Microsoft.Extensions.Logging;
using Microsoft.ML.EfficientNet.Explain;
using Microsoft.ML.EfficientNet.Onnx;
using Microsoft.ML.EfficientNet.Preprocessing;
using Microsoft.ML.EfficientNet.Runtime;

namespace Microsoft.ML.EfficientNet.Scoring;

/// <summary>A batch of the feature-map output, [count, C, h, w], as <see cref="EfficientNetOnnxSession"/> returns it.</summary>
/// <param name="Values">The floats of every image, one after another.</param>
/// <param name="Channels">C.</param>
/// <param name="Height">h.</param>
/// <param name="Width">w.</param>
internal readonly record struct FeatureMapBatch(float[] Values, int Channels, int Height, int Width)
{
    /// <summary>The feature map of image <paramref name="index"/> of the batch.</summary>
    public ReadOnlySpan<float> Of(int index)
    {
        int cells = Channels * Height * Width;
        return Values.AsSpan(index * cells, cells);
    }
}

/// <summary>
/// The predictor's explanations: an exact class activation map from an image's last feature map and the model's own
/// pool + linear head (<see cref="ClassActivationMap.Compute"/>). The warning that the maps are too coarse holds for
/// every map of the model, so it is logged once per predictor.
/// </summary>
internal sealed class ActivationMaps(ClassifierHead head, IReadOnlyList<string> labels, PreprocessingRecipe recipe, ILogger? logger)
{
    // Set once the coarse-map warning has been logged.
    private int _coarseMapWarned;

    /// <summary>The map of image <paramref name="index"/> of <paramref name="maps"/> for <paramref name="classIndex"/>.</summary>
    /// <param name="maps">The batch's feature maps.</param>
    /// <param name="index">The image's place in the batch.</param>
    /// <param name="classIndex">The class to explain.</param>
    /// <param name="probabilities">The image's softmax probabilities.</param>
    /// <param name="logits">The image's logits.</param>
    public ClassActivationMap Explain(FeatureMapBatch maps, int index, int classIndex, float[] probabilities, float[] logits)
    {
        var values = ClassActivationMap.Compute(maps.Of(index), maps.Channels, maps.Height, maps.Width, head, classIndex);
        var map = new ClassActivationMap(values, classIndex, labels[classIndex], probabilities[classIndex], logits[classIndex], recipe);
        if (map.Warning is { } warning && Interlocked.Exchange(ref _coarseMapWarned, 1) == 0) logger?.LogWarning("{Warning}", warning);
        return map;
    }
}
