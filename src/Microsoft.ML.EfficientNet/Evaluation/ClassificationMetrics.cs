namespace Microsoft.ML.EfficientNet.Evaluation;

/// <summary>
/// Accumulates top-1 and top-5 accuracy, mean cross-entropy and the confusion matrix from logits, batch by batch. Used
/// for validation during training and by <c>efficientnet evaluate</c>, so both report the same numbers.
/// </summary>
internal sealed class ClassificationMetrics
{
    private readonly long[,] _confusion;
    private double _lossSum;
    private long _top1;
    private long _top5;

    /// <summary>Creates an empty accumulator.</summary>
    /// <param name="classes">Number of classes.</param>
    public ClassificationMetrics(int classes)
    {
        if (classes < 1) throw new ArgumentOutOfRangeException(nameof(classes), classes, "At least one class is needed.");
        Classes = classes;
        _confusion = new long[classes, classes];
    }

    /// <summary>Number of classes.</summary>
    public int Classes { get; }

    /// <summary>Examples added.</summary>
    public long Count { get; private set; }

    /// <summary>Top-1 accuracy in [0, 1] (NaN when empty).</summary>
    public double Accuracy => Count == 0 ? double.NaN : _top1 / (double)Count;

    /// <summary>Top-5 accuracy in [0, 1] (equal to 1 with five classes or fewer; NaN when empty).</summary>
    public double Top5Accuracy => Count == 0 ? double.NaN : _top5 / (double)Count;

    /// <summary>Mean cross-entropy of the softmax of the logits, in nats (NaN when empty).</summary>
    public double MeanLoss => Count == 0 ? double.NaN : _lossSum / Count;

    /// <summary>Counts of [true class, predicted class].</summary>
    public long[,] Confusion => (long[,])_confusion.Clone();

    /// <summary>The accuracy against chance: its 95 % interval, the majority-class rate, and whether one class took the predictions.</summary>
    public ChanceAssessment Chance() => ChanceAssessment.FromConfusion(_confusion);

    /// <summary>Adds a batch.</summary>
    /// <param name="logits">Count × classes scores, row-major.</param>
    /// <param name="labels">True class of each row.</param>
    public void Add(ReadOnlySpan<float> logits, ReadOnlySpan<long> labels)
    {
        int n = labels.Length;
        if (logits.Length != n * Classes) throw new ArgumentException($"Expected {n} × {Classes} logits, got {logits.Length}.", nameof(logits));
        for (int i = 0; i < n; i++)
        {
            var row = logits.Slice(i * Classes, Classes);
            int label = (int)labels[i];
            if (label < 0 || label >= Classes) throw new ArgumentOutOfRangeException(nameof(labels), label, $"Label must be in [0, {Classes}).");
            int predicted = 0, higher = 0;
            float max = float.NegativeInfinity;
            for (int c = 0; c < Classes; c++)
            {
                if (row[c] > max) { max = row[c]; predicted = c; }
                if (row[c] > row[label]) higher++;
            }
            double sum = 0;
            for (int c = 0; c < Classes; c++) sum += Math.Exp(row[c] - max);
            _lossSum += Math.Log(sum) + max - row[label];
            if (predicted == label) _top1++;
            if (higher < 5) _top5++;
            _confusion[label, predicted]++;
            Count++;
        }
    }
}
