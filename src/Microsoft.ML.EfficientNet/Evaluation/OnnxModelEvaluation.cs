using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.ML.EfficientNet.Data;
using Microsoft.ML.EfficientNet.Onnx;
using Microsoft.ML.EfficientNet.Runtime;

namespace Microsoft.ML.EfficientNet.Evaluation;

/// <summary>
/// Scores labelled images through an exported classifier (a <c>logits</c> output; preprocessing and labels from its
/// metadata) and accumulates the metrics: the one evaluation of an ONNX model, used by <c>efficientnet evaluate</c> and
/// by <c>compare</c>, so both report the same numbers.
/// </summary>
internal static class OnnxModelEvaluation
{
    /// <summary>Images per ONNX Runtime call when none is given.</summary>
    public const int DefaultBatchSize = 32;

    /// <summary>
    /// Evaluates the model at <paramref name="modelPath"/> on <paramref name="images"/>. The file is checked first (an
    /// ONNX model with one image input and a <c>logits</c> output; the error names the file); each data class is matched to the model's label of the same name, or
    /// by position when the model has no labels and the class counts agree. Batches arrive one at a time from the
    /// decoder, so one ONNX Runtime call runs at a time with ONNX Runtime's own threading.
    /// </summary>
    /// <param name="modelPath">The .onnx file.</param>
    /// <param name="images">Labelled images; unreadable ones are skipped with a warning to <paramref name="logger"/>.</param>
    /// <param name="batchSize">Images per ONNX Runtime call; default <see cref="DefaultBatchSize"/>.</param>
    /// <param name="logger">Receives warnings about unreadable images; default none.</param>
    /// <returns>The metrics and the model's labels (class indices as text when it has none).</returns>
    /// <exception cref="ArgumentException">The data's classes are not all among the model's labels (both lists named).</exception>
    public static (ClassificationMetrics Metrics, IReadOnlyList<string> Labels) Evaluate(string modelPath, LabeledImageSet images, int batchSize = DefaultBatchSize, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(modelPath);
        ArgumentNullException.ThrowIfNull(images);
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "At least one image per batch.");
        if (!File.Exists(modelPath)) throw new FileNotFoundException($"Model '{modelPath}' does not exist.", modelPath);
        byte[] model = Onnx.EfficientNetOnnxExporter.ReadOrExport(modelPath);
        var metadata = OnnxModelValidation.Check(model, modelPath, OnnxExportOptions.LogitsOutputName);
        var labels = metadata.Labels ?? Enumerable.Range(0, metadata.NumClasses).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToList();
        long[] map = ClassMap(images.Classes, labels, metadata.Labels is not null);

        var metrics = new ClassificationMetrics(metadata.NumClasses);
        using var session = new EfficientNetOnnxSession(model, OnnxExportOptions.LogitsOutputName, parallelism: 1);
        var logits = new float[batchSize * session.OutputWidth];
        var targets = new long[batchSize];
        foreach (var batch in new EvaluationBatches(images, metadata.Preprocessing, batchSize, logger, normalize: metadata.Bare).All())
        {
            int n = batch.Count;
            session.Score(batch.Pixels, n, logits);
            for (int i = 0; i < n; i++) targets[i] = map[batch.Labels[i]];
            metrics.Add(logits.AsSpan(0, n * session.OutputWidth), targets.AsSpan(0, n));
        }
        return (metrics, labels);
    }

    /// <summary>
    /// The model label of each data class: by name, or by position when the model has no labels (<paramref name="named"/>
    /// false) and the counts agree.
    /// </summary>
    /// <exception cref="ArgumentException">Some class matches no label (both lists named).</exception>
    internal static long[] ClassMap(IReadOnlyList<string> classes, IReadOnlyList<string> labels, bool named)
    {
        var map = classes.Select(c => (long)IndexOf(labels, c)).ToArray();
        if (map.All(i => i >= 0)) return map;
        if (!named && classes.Count == labels.Count) return Enumerable.Range(0, classes.Count).Select(i => (long)i).ToArray();
        throw new ArgumentException($"The data's classes [{string.Join(", ", classes)}] are not all among the model's labels [{string.Join(", ", labels)}].", nameof(classes));
    }

    private static int IndexOf(IReadOnlyList<string> labels, string label)
    {
        for (int i = 0; i < labels.Count; i++)
            if (labels[i] == label) return i;
        return -1;
    }
}
