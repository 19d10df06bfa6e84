using Microsoft.ML.Data;

namespace Microsoft.ML.EfficientNet.Evaluation;

/// <summary>
/// An accuracy judged against what guessing achieves: its 95 % Wilson interval, the majority-class rate (the accuracy
/// of always answering the most frequent true class), and whether the predictions collapsed onto one class. Training
/// validation, <c>efficientnet evaluate</c> and <c>compare</c> all judge results through this one rule.
/// </summary>
/// <param name="Accuracy">Top-1 accuracy in [0, 1].</param>
/// <param name="Low">Lower end of the 95 % Wilson interval of <paramref name="Accuracy"/>, in [0, 1].</param>
/// <param name="High">Upper end of the interval, in [0, 1].</param>
/// <param name="Count">Images the accuracy was measured on.</param>
/// <param name="ChanceAccuracy">The majority-class rate in [0, 1].</param>
/// <param name="DominantClass">The class predicted most often.</param>
/// <param name="DominantShare">Its share of all predictions, in [0, 1].</param>
public sealed record ChanceAssessment(double Accuracy, double Low, double High, long Count, double ChanceAccuracy, int DominantClass, double DominantShare)
{
    /// <summary>Share of predictions above which one class is said to take them all.</summary>
    public const double CollapsedShare = 0.9;

    /// <summary>
    /// True when the accuracy is above the majority-class rate by more than its interval: the interval's lower end lies
    /// above the chance rate. Equal accuracies whose intervals reach chance are noise, not learning.
    /// </summary>
    public bool AboveChance => Count > 0 && Low > ChanceAccuracy;

    /// <summary>
    /// True when one class takes at least 90 % of the predictions although the true classes are not that skewed: the
    /// model answers one class for (almost) everything.
    /// </summary>
    public bool Collapsed => Count > 0 && DominantShare >= CollapsedShare && ChanceAccuracy < CollapsedShare;

    /// <summary>True when either warning applies.</summary>
    public bool AtChance => !AboveChance || Collapsed;

    /// <summary>Judges ML.NET's evaluation of a classifier (<c>mlContext.MulticlassClassification.Evaluate</c>) by its confusion matrix.</summary>
    /// <param name="metrics">The evaluation.</param>
    public static ChanceAssessment FromMetrics(MulticlassClassificationMetrics metrics) => FromConfusion(Counts(metrics));

    /// <summary>ML.NET's confusion matrix as whole counts of [true class, predicted class].</summary>
    internal static long[,] Counts(MulticlassClassificationMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        var counts = metrics.ConfusionMatrix.Counts;
        int k = metrics.ConfusionMatrix.NumberOfClasses;
        var confusion = new long[k, k];
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++) confusion[i, j] = (long)Math.Round(counts[i][j]);
        return confusion;
    }

    /// <summary>Judges a confusion matrix (rows: true class, columns: predicted class).</summary>
    /// <param name="confusion">Counts of [true class, predicted class].</param>
    public static ChanceAssessment FromConfusion(long[,] confusion)
    {
        ArgumentNullException.ThrowIfNull(confusion);
        int classes = confusion.GetLength(0);
        if (confusion.GetLength(1) != classes)
            throw new ArgumentException($"A confusion matrix is square; got {classes} × {confusion.GetLength(1)}.", nameof(confusion));
        long total = 0, correct = 0, largestTrue = 0, largestPredicted = 0;
        int dominant = 0;
        for (int c = 0; c < classes; c++)
        {
            long trueCount = 0, predictedCount = 0;
            for (int k = 0; k < classes; k++)
            {
                trueCount += confusion[c, k];
                predictedCount += confusion[k, c];
            }
            correct += confusion[c, c];
            total += trueCount;
            largestTrue = Math.Max(largestTrue, trueCount);
            if (predictedCount > largestPredicted) (largestPredicted, dominant) = (predictedCount, c);
        }
        if (total == 0) return new ChanceAssessment(double.NaN, double.NaN, double.NaN, 0, double.NaN, 0, double.NaN);
        var (low, high) = WilsonInterval(correct, total);
        return new ChanceAssessment(correct / (double)total, low, high, total, largestTrue / (double)total, dominant, largestPredicted / (double)total);
    }

    /// <summary>
    /// The 95 % Wilson score interval of a proportion: unlike the normal approximation it stays inside [0, 1] and keeps
    /// its coverage near 0 and 1 and on the few hundred images small business data sets hold out.
    /// </summary>
    /// <param name="successes">Correct answers.</param>
    /// <param name="trials">Answers.</param>
    public static (double Low, double High) WilsonInterval(long successes, long trials)
    {
        if (trials < 1) throw new ArgumentOutOfRangeException(nameof(trials), trials, "An interval needs at least one trial.");
        if (successes < 0 || successes > trials) throw new ArgumentOutOfRangeException(nameof(successes), successes, $"Must be in [0, {trials}].");
        const double z = 1.959963984540054; // the 97.5th percentile of the standard normal distribution
        double n = trials, p = successes / n, z2 = z * z;
        double centre = (p + z2 / (2 * n)) / (1 + z2 / n);
        double half = z / (1 + z2 / n) * Math.Sqrt(p * (1 - p) / n + z2 / (4 * n * n));
        return (Math.Max(0, centre - half), Math.Min(1, centre + half));
    }

    /// <summary>
    /// One sentence for people when <see cref="AtChance"/>: the numbers, then <paramref name="cause"/> and what to do;
    /// null when the result is above chance and not collapsed.
    /// </summary>
    /// <param name="classNames">Names of the classes, for the dominant one.</param>
    /// <param name="cause">The likely cause, as the caller knows it (for example "trained from scratch on 90 images").</param>
    public string? Warning(IReadOnlyList<string>? classNames, string cause)
    {
        if (!AtChance) return null;
        var c = System.Globalization.CultureInfo.InvariantCulture;
        string name = classNames is not null && DominantClass < classNames.Count ? $"'{classNames[DominantClass]}'" : $"class {DominantClass}";
        string what = !AboveChance
            ? string.Create(c, $"accuracy {100 * Accuracy:0.00} % (95 % interval {100 * Low:0.00}–{100 * High:0.00} %, {Count} images) is not above the majority-class rate {100 * ChanceAccuracy:0.00} %")
            : string.Create(c, $"accuracy {100 * Accuracy:0.00} % on {Count} images");
        if (Collapsed) what += string.Create(c, $"; {name} takes {100 * DominantShare:0.#} % of the predictions");
        return $"At chance: {what}. Likely cause: {cause}. What to do: start from pretrained weights, use more images or more epochs, or lower the learning rate.";
    }
}
