using Microsoft.Extensions.Logging;

namespace Microsoft.ML.EfficientNet.Scoring;

/// <summary>
/// How the predictor turns one image's logits into what it reports: softmax probabilities, the best classes ranked by
/// logit, and the message of an image that could not be scored.
/// </summary>
internal static class PredictionResults
{
    /// <summary>Softmax of <paramref name="logits"/>, computed in double from the largest logit so no term overflows.</summary>
    public static float[] Softmax(float[] logits)
    {
        double max = logits.Max(), sum = 0;
        var e = new double[logits.Length];
        for (int i = 0; i < logits.Length; i++) sum += e[i] = Math.Exp(logits[i] - max);
        return e.Select(v => (float)(v / sum)).ToArray();
    }

    /// <summary>The <paramref name="top"/> best classes, highest logit first, ties to the lower index.</summary>
    public static ClassScore[] Rank(float[] logits, float[] probabilities, IReadOnlyList<string> labels, int top) =>
        // Ranked by logit, exact even where nearly equal logits round to the same probability.
        Enumerable.Range(0, logits.Length).OrderByDescending(c => logits[c]).ThenBy(c => c).Take(top)
            .Select(c => new ClassScore(c, labels[c], probabilities[c])).ToArray();

    /// <summary>The error of an image that could not be read or decoded, naming it and the innermost cause.</summary>
    public static string Unreadable(string source, Exception cause) => $"'{source}' could not be read as an image ({Innermost(cause).Message}).";

    /// <summary>The prediction of an image that was not scored, its error logged as a warning.</summary>
    public static ImagePrediction Failed(string source, string? error, ILogger? logger)
    {
        error ??= $"'{source}' could not be read as an image.";
        logger?.LogWarning("{Error}", error);
        return new ImagePrediction(source, [], null, null, error);
    }

    /// <summary>The one prediction of a single-image call; its error as an exception.</summary>
    /// <exception cref="InvalidDataException">The image could not be scored.</exception>
    public static ImagePrediction Single(IEnumerable<ImagePrediction> predictions)
    {
        var p = predictions.Single();
        return p.Succeeded ? p : throw new InvalidDataException(p.Error);
    }

    /// <summary>The innermost exception: the decoder's own reason, under the wrappers of ML.NET's cursors.</summary>
    public static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e;
    }
}
