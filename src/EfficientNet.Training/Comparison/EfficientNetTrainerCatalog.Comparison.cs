using EfficientNet.Training.Comparison;

namespace Microsoft.ML;

/// <summary>The comparison of EfficientNet variants on the user's images, as an ML.NET catalog extension.</summary>
public static partial class EfficientNetTrainerCatalog
{
    /// <summary>
    /// Creates an experiment that trains every candidate variant on the same split of the user's images, measures
    /// accuracy, cost and speed on the same held-out images, and recommends the most accurate one meeting the
    /// constraints, as <c>mlContext.Auto().CreateMulticlassClassificationExperiment(settings)</c> does for ML.NET's trainers.
    /// </summary>
    /// <param name="catalog">The multiclass classification catalog (<c>mlContext.MulticlassClassification</c>).</param>
    /// <param name="settings">Candidates, strategy, budget, constraints, metric, seed and output folder.</param>
    /// <returns>The experiment; call <c>Execute</c> with the images.</returns>
    /// <example>
    /// <code>
    /// var settings = new EfficientNetComparisonSettings
    /// {
    ///     Candidates = [EfficientNetVariant.B0, EfficientNetVariant.B1, EfficientNetVariant.B2],
    ///     Strategy = ComparisonStrategy.FineTune,
    ///     Epochs = 3,
    ///     ImageSize = 64,
    ///     MaxLatencyMilliseconds = 20,
    ///     OutputDirectory = "compare",
    /// };
    /// var result = mlContext.MulticlassClassification.CreateEfficientNetComparison(settings).Execute(LabeledImageSet.FromFolder("images"));
    /// result.WriteReport();
    /// Console.WriteLine(result.RecommendedLine);
    /// </code>
    /// </example>
    public static EfficientNetComparisonExperiment CreateEfficientNetComparison(this MulticlassClassificationCatalog catalog, EfficientNetComparisonSettings settings)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(settings);
        return new EfficientNetComparisonExperiment(settings);
    }
}
