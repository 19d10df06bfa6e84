using System.Globalization;
using Microsoft.ML.Data;
using Microsoft.ML.EfficientNet.Data;
using Microsoft.ML.EfficientNet.Preprocessing;

namespace Microsoft.ML.EfficientNet.Tests.Data;

/// <summary>
/// Seeded splits are part of reproducibility (tests, resumed runs and users' held-out sets depend on which image lands
/// where), so the split of an image folder and of a labelled image set must stay exactly what it was when both had their
/// own copy of the algorithm. <see cref="Released"/> is that algorithm, frozen here as the oracle.
/// </summary>
[TestClass]
public sealed class StratifiedSplitTests
{
    private static readonly int[] Seeds = [0, 1, 3, 7, 42, 12345, -5];
    private static readonly double[] Fractions = [0, 0.1, 0.2, 0.25, 0.5, 0.9];
    private static readonly int[][] ClassSizes = [[1, 1], [2, 3], [5, 1, 7], [10, 10, 10], [33, 2, 1, 17], [100, 40]];

    [TestMethod]
    public void LabeledImageSetSplitIsTheReleasedSplit()
    {
        foreach (var sizes in ClassSizes)
        {
            // Labels interleaved in index order, so that groups are not contiguous runs.
            var labels = sizes.SelectMany((n, label) => Enumerable.Range(0, n).Select(i => (Label: label, Key: (i * 7919 + label * 31) % 1009))).OrderBy(p => p.Key).ThenBy(p => p.Label).Select(p => p.Label).ToArray();
            var set = new InMemorySet(labels, sizes.Length);
            foreach (int seed in Seeds)
                foreach (double fraction in Fractions)
                {
                    var (train, validation) = set.Split(fraction, seed);
                    var (expectedTrain, expectedValidation) = Released(Enumerable.Range(0, labels.Length).ToList(), i => labels[i], fraction, seed, orderGroupsByKey: true);
                    expectedTrain.Sort();
                    expectedValidation.Sort();
                    string what = $"classes [{string.Join(", ", sizes)}], seed {seed}, fraction {fraction}";
                    CollectionAssert.AreEqual(expectedTrain, Indices(train), what + ": train");
                    CollectionAssert.AreEqual(expectedValidation, Indices(validation), what + ": validation");
                }
        }
    }

    [TestMethod]
    public void ImageFolderSplitIsTheReleasedSplit()
    {
        foreach (var sizes in ClassSizes)
        {
            using var dir = new TemporaryDirectory();
            for (int c = 0; c < sizes.Length; c++)
            {
                string folder = Path.Combine(dir.Path, $"class{c}");
                Directory.CreateDirectory(folder);
                for (int i = 0; i < sizes[c]; i++) File.WriteAllBytes(Path.Combine(folder, $"{i:D3}.png"), []);
            }
            var images = ImageFolder.Open(dir.Path);
            foreach (int seed in Seeds)
                foreach (double fraction in Fractions)
                {
                    var (train, validation) = images.Split(fraction, seed);
                    var (expectedTrain, expectedValidation) = Released(images.Rows.ToList(), r => r.Label, fraction, seed, orderGroupsByKey: false);
                    string what = $"classes [{string.Join(", ", sizes)}], seed {seed}, fraction {fraction}";
                    // In the released order, not sorted: callers take the first rows of a split.
                    CollectionAssert.AreEqual(expectedTrain.Select(r => r.Path).ToList(), train.Select(r => r.Path).ToList(), what + ": train");
                    CollectionAssert.AreEqual(expectedValidation.Select(r => r.Path).ToList(), validation.Select(r => r.Path).ToList(), what + ": validation");
                }
        }
    }

    [TestMethod]
    public void BothRefuseAFractionOutsideZeroToOne()
    {
        var set = new InMemorySet([0, 1, 0, 1], 2);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => set.Split(1, 0));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => set.Split(-0.1, 0));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => set.Split(double.NaN, 0));
        using var dir = new TemporaryDirectory();
        foreach (string c in new[] { "a", "b" })
        {
            Directory.CreateDirectory(Path.Combine(dir.Path, c));
            File.WriteAllBytes(Path.Combine(dir.Path, c, "0.png"), []);
        }
        var images = ImageFolder.Open(dir.Path);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => images.Split(1, 0));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => images.Split(double.NaN, 0));
    }

    /// <summary>
    /// The split as released in both copies: groups by label (the image folder's in order of first appearance, the image
    /// set's by label value), each group shuffled by one <see cref="Random.Next()"/> per item from one seeded stream, the
    /// first max(1 if two or more, round(count × fraction)) of each to validation.
    /// </summary>
    private static (List<T> Train, List<T> Validation) Released<T, TKey>(List<T> items, Func<T, TKey> label, double validationFraction, int seed, bool orderGroupsByKey)
    {
        var random = new Random(seed);
        var train = new List<T>();
        var validation = new List<T>();
        var groups = items.GroupBy(label);
        if (orderGroupsByKey) groups = groups.OrderBy(g => g.Key);
        foreach (var group in groups)
        {
            var shuffled = group.OrderBy(_ => random.Next()).ToList();
            int held = validationFraction == 0 ? 0 : Math.Max(shuffled.Count > 1 ? 1 : 0, (int)Math.Round(shuffled.Count * validationFraction));
            validation.AddRange(shuffled.Take(held));
            train.AddRange(shuffled.Skip(held));
        }
        return (train, validation);
    }

    private static List<int> Indices(LabeledImageSet set) =>
        Enumerable.Range(0, set.Count).Select(i => int.Parse(set.Describe(i), CultureInfo.InvariantCulture)).ToList();

    /// <summary>Labels only; an image's description is its index.</summary>
    private sealed class InMemorySet(int[] labels, int classes) : LabeledImageSet
    {
        public override int Count => labels.Length;
        public override IReadOnlyList<string> Classes { get; } = Enumerable.Range(0, classes).Select(c => $"class{c}").ToArray();
        public override int Label(int index) => labels[index];
        internal override RgbImage Load(int index) => throw new NotSupportedException();
        internal override MLImage LoadMLImage(int index) => throw new NotSupportedException();
        public override string Describe(int index) => index.ToString(CultureInfo.InvariantCulture);
    }
}
