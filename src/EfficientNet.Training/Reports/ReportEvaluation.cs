using Microsoft.ML.Data;
using Microsoft.ML.EfficientNet.Evaluation;

namespace EfficientNet.Training.Reports;

/// <summary>
/// A model's scores on labelled held-out images, as a <see cref="TrainingReport"/> shows them: accuracy, top-5 and mean
/// cross-entropy when known, and the confusion matrix.
/// </summary>
internal sealed record ReportEvaluation
{
    /// <summary>What was scored, for headings (for example "Fashion-MNIST test set, 10,000 images").</summary>
    public required string Title { get; init; }

    /// <summary>Class names, in the order of the confusion matrix's rows and columns.</summary>
    public required IReadOnlyList<string> Classes { get; init; }

    /// <summary>Counts: row = true class, column = predicted class; classes × classes.</summary>
    public required long[,] Confusion { get; init; }

    /// <summary>Top-1 accuracy in [0, 1].</summary>
    public required double Accuracy { get; init; }

    /// <summary>Top-5 accuracy in [0, 1], or null when not measured (fewer than 6 classes).</summary>
    public double? Top5Accuracy { get; init; }

    /// <summary>Mean cross-entropy (natural log) of the true class, or null when not measured.</summary>
    public double? MeanLoss { get; init; }

    /// <summary>Number of images scored (the confusion matrix's total).</summary>
    public long Count
    {
        get
        {
            long total = 0;
            foreach (long v in Confusion) total += v;
            return total;
        }
    }

    /// <summary>From the metrics of <c>mlContext.MulticlassClassification.Evaluate</c>.</summary>
    /// <param name="metrics">ML.NET's metrics; <c>TopKAccuracy</c> is used as top-5 when evaluated with <c>topKPredictionCount: 5</c> on more than five classes.</param>
    /// <param name="classes">Class names in key order (the label column's key values).</param>
    /// <param name="title">What was scored.</param>
    public static ReportEvaluation From(MulticlassClassificationMetrics metrics, IReadOnlyList<string> classes, string title)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(classes);
        int k = metrics.ConfusionMatrix.NumberOfClasses;
        if (classes.Count != k) throw new ArgumentException($"{classes.Count} class names for a {k}-class confusion matrix.", nameof(classes));
        var confusion = ChanceAssessment.Counts(metrics);
        return new ReportEvaluation
        {
            Title = title,
            Classes = classes,
            Confusion = confusion,
            Accuracy = metrics.MicroAccuracy,
            Top5Accuracy = metrics.TopKPredictionCount == 5 && k > 5 ? metrics.TopKAccuracy : null,
            MeanLoss = metrics.LogLoss,
        };
    }

    /// <summary>From the metrics <c>efficientnet evaluate</c> computes.</summary>
    /// <param name="metrics">Accumulated metrics.</param>
    /// <param name="classes">Class names in label order.</param>
    /// <param name="title">What was scored.</param>
    public static ReportEvaluation From(ClassificationMetrics metrics, IReadOnlyList<string> classes, string title)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(classes);
        if (classes.Count != metrics.Classes) throw new ArgumentException($"{classes.Count} class names for {metrics.Classes} classes.", nameof(classes));
        return new ReportEvaluation
        {
            Title = title,
            Classes = classes,
            Confusion = metrics.Confusion,
            Accuracy = metrics.Accuracy,
            Top5Accuracy = metrics.Classes > 5 ? metrics.Top5Accuracy : null,
            MeanLoss = metrics.MeanLoss,
        };
    }
}
