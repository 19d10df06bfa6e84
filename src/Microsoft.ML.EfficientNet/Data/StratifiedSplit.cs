namespace Microsoft.ML.EfficientNet.Data;

/// <summary>
/// The seeded, stratified split behind <see cref="ImageFolder.Split"/> and <see cref="LabeledImageSet.Split"/>: within
/// each class a fraction (at least one item when the class has two or more) goes to validation.
/// </summary>
/// <remarks>
/// Which item lands where is part of reproducibility (tests, resumed runs and users' held-out sets re-split with the same
/// seed), so the order of the random draws is fixed: classes in ascending label order, one <see cref="Random.Next()"/>
/// per item of a class in index order, from one stream seeded once.
/// </remarks>
internal static class StratifiedSplit
{
    /// <summary>Splits items by their labels.</summary>
    /// <param name="labels">Label of each item.</param>
    /// <param name="validationFraction">Share of each class held out, in [0, 1).</param>
    /// <param name="seed">The same seed gives the same split.</param>
    /// <returns>Item indices, class by class in ascending label order, each class in its shuffled order (not sorted).</returns>
    public static (List<int> Train, List<int> Validation) Split(IReadOnlyList<int> labels, double validationFraction, int seed)
    {
        ArgumentNullException.ThrowIfNull(labels);
        if (!(validationFraction >= 0 && validationFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(validationFraction), validationFraction, "Must be in [0, 1).");
        var random = new Random(seed);
        var train = new List<int>();
        var validation = new List<int>();
        foreach (var group in Enumerable.Range(0, labels.Count).GroupBy(i => labels[i]).OrderBy(g => g.Key))
        {
            var shuffled = group.OrderBy(_ => random.Next()).ToList();
            int held = validationFraction == 0 ? 0 : Math.Max(shuffled.Count > 1 ? 1 : 0, (int)Math.Round(shuffled.Count * validationFraction));
            validation.AddRange(shuffled.Take(held));
            train.AddRange(shuffled.Skip(held));
        }
        return (train, validation);
    }
}
