using Microsoft.ML.EfficientNet.Explain;

namespace Microsoft.ML.EfficientNet.Scoring;

/// <summary>What <see cref="EfficientNetPredictor"/> says about one image: its best classes, or why it could not be read.</summary>
public sealed class ImagePrediction
{
    internal ImagePrediction(string source, IReadOnlyList<ClassScore> top, float[]? logits, ClassActivationMap? map, string? error)
    {
        Source = source;
        Top = top;
        Logits = logits;
        ActivationMap = map;
        Error = error;
    }

    /// <summary>Where the image came from: its path, an in-memory image's <c>Tag</c>, or <c>row N</c> of a data view.</summary>
    public string Source { get; }

    /// <summary>Null when the image was scored; else why it could not be read or decoded (and <see cref="Top"/> is empty).</summary>
    public string? Error { get; }

    /// <summary>True when the image was scored (<see cref="Error"/> is null).</summary>
    public bool Succeeded => Error is null;

    /// <summary>The best classes, highest probability first (fewer when the model has fewer classes); empty on error.</summary>
    public IReadOnlyList<ClassScore> Top { get; }

    /// <summary>The predicted label (the first of <see cref="Top"/>), or null on error.</summary>
    public string? Label => Top.Count > 0 ? Top[0].Label : null;

    /// <summary>The predicted class's index, or −1 on error.</summary>
    public int ClassIndex => Top.Count > 0 ? Top[0].ClassIndex : -1;

    /// <summary>The predicted class's softmax probability in [0, 1], or NaN on error.</summary>
    public float Score => Top.Count > 0 ? Top[0].Score : float.NaN;

    /// <summary>All the model's logits for the image, in class order; null on error.</summary>
    public IReadOnlyList<float>? Logits { get; }

    /// <summary>The class activation map of the predicted class, when asked for; null otherwise and on error.</summary>
    public ClassActivationMap? ActivationMap { get; }
}
