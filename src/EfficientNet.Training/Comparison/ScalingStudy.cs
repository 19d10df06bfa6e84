using System.Globalization;
using Microsoft.ML.EfficientNet.Architecture;

namespace EfficientNet.Training.Comparison;

/// <summary>
/// The paper's scaling study (its figure 3 against compound scaling) on the user's data: from B0, scale one dimension
/// alone (width, depth or resolution) or all three by compound scaling until the MACs reach a multiple of B0's, each
/// multiplier solved from the architecture's own MAC count.
/// </summary>
internal static class ScalingStudy
{
    /// <summary>The dimensions a study can scale: <c>width</c>, <c>depth</c>, <c>resolution</c>, <c>compound</c>.</summary>
    public static IReadOnlyList<string> Dimensions { get; } = ["width", "depth", "resolution", "compound"];

    /// <summary>Name of the B0 candidate every line of the study starts from.</summary>
    public const string BaselineName = "b0";

    /// <summary>
    /// The candidates of a study: B0 at <paramref name="baseResolution"/> (<see cref="ComparisonCandidate.ScalingDimension"/>
    /// <c>baseline</c>, factor 1), then for each dimension and factor a custom variant named <c>width-2x</c> … whose MACs
    /// are the closest the dimension's rounding allows to factor × B0's. Each carries its own image size (resolution
    /// scaling and compound scaling change it).
    /// </summary>
    /// <param name="dimensions">Any of <see cref="Dimensions"/>.</param>
    /// <param name="factors">MAC multiples of B0's, each &gt; 1; for example 2 and 4.</param>
    /// <param name="baseResolution">B0's input side for the study, in pixels; default 224. Small images (Fashion-MNIST at 32 px) keep the study fast.</param>
    /// <param name="numClasses">Classifier outputs (the MACs include the classifier); default 1000.</param>
    public static IReadOnlyList<ComparisonCandidate> Candidates(IEnumerable<string> dimensions, IEnumerable<double> factors, int baseResolution = 224, int numClasses = 1000)
    {
        ArgumentNullException.ThrowIfNull(dimensions);
        ArgumentNullException.ThrowIfNull(factors);
        if (baseResolution < 32) throw new ArgumentOutOfRangeException(nameof(baseResolution), baseResolution, "At least 32 pixels.");
        var dims = dimensions.Select(d => d.Trim().ToLowerInvariant()).Distinct().ToList();
        foreach (string d in dims)
            if (!Dimensions.Contains(d)) throw new ArgumentException($"Unknown scaling dimension '{d}'. Valid: {string.Join(", ", Dimensions)}.", nameof(dimensions));
        var fs = factors.Distinct().ToList();
        if (fs.Count == 0 || fs.Any(f => !(f > 1) || !double.IsFinite(f))) throw new ArgumentOutOfRangeException(nameof(factors), "Each MAC factor must be a finite number > 1.");

        var list = new List<ComparisonCandidate>
        {
            new(EfficientNetVariant.B0) { Name = BaselineName, ImageSize = baseResolution, ScalingDimension = "baseline", ScalingFactor = 1 },
        };
        long baseline = Macs(EfficientNetVariant.B0, baseResolution, numClasses);
        foreach (string d in dims)
        {
            foreach (double f in fs.Order())
            {
                string name = string.Create(CultureInfo.InvariantCulture, $"{d}-{f:0.##}x");
                var variant = Solve(d, baseline * f, baseResolution, numClasses, name);
                list.Add(new ComparisonCandidate(variant) { Name = name, ImageSize = variant.Resolution, ScalingDimension = d, ScalingFactor = f });
            }
        }
        return list;
    }

    /// <summary>A variant scaled along one dimension (or compound) whose MACs come closest to <paramref name="targetMacs"/>.</summary>
    /// <param name="dimension">One of <see cref="Dimensions"/>.</param>
    /// <param name="targetMacs">Multiply-accumulates wanted.</param>
    /// <param name="baseResolution">B0's input side, in pixels.</param>
    /// <param name="numClasses">Classifier outputs.</param>
    /// <param name="name">The variant's name.</param>
    public static EfficientNetVariant Solve(string dimension, double targetMacs, int baseResolution, int numClasses, string name)
    {
        ArgumentNullException.ThrowIfNull(dimension);
        var b0 = EfficientNetVariant.B0;
        switch (dimension)
        {
            case "width":
                return Closest(x => EfficientNetVariant.Custom(x, 1, baseResolution, b0.Dropout, name), 1, 16);
            case "depth":
                return Closest(x => EfficientNetVariant.Custom(1, x, baseResolution, b0.Dropout, name), 1, 64);
            case "resolution":
            {
                // Integer pixels: MACs never fall as the side grows, so a binary search finds the first side at or above the
                // target; the closer of it and the one before wins.
                int low = baseResolution, high = baseResolution * 16;
                while (low < high)
                {
                    int mid = (low + high) / 2;
                    if (Macs(b0, mid, numClasses) < targetMacs) low = mid + 1; else high = mid;
                }
                int best = low > baseResolution && Math.Abs(Macs(b0, low - 1, numClasses) - targetMacs) <= Math.Abs(Macs(b0, low, numClasses) - targetMacs) ? low - 1 : low;
                return EfficientNetVariant.Custom(1, 1, best, b0.Dropout, name);
            }
            case "compound":
                return Closest(phi => EfficientNetVariant.Custom(CompoundScaling.WidthMultiplier(phi), CompoundScaling.DepthMultiplier(phi),
                    Math.Max(32, (int)Math.Round(baseResolution * Math.Pow(CompoundScaling.Gamma, phi))), CompoundScaling.Dropout(phi), name), 0, 12);
            default:
                throw new ArgumentException($"Unknown scaling dimension '{dimension}'. Valid: {string.Join(", ", Dimensions)}.", nameof(dimension));
        }

        // MACs rise with the multiplier only roughly: channels, blocks and feature maps round, so the curve has steps and
        // small dips. A coarse scan finds the neighbourhood, bisection between its bracketing points refines it, and of
        // every variant met the one closest to the target is kept.
        EfficientNetVariant Closest(Func<double, EfficientNetVariant> make, double low, double high)
        {
            EfficientNetVariant? best = null;
            double bestGap = double.PositiveInfinity;
            long Try(double x)
            {
                var v = make(x);
                long macs = Macs(v, v.Resolution, numClasses);
                double gap = Math.Abs(macs - targetMacs);
                if (gap < bestGap) (best, bestGap) = (v, gap);
                return macs;
            }
            const int steps = 200;
            double previous = low;
            for (int i = 0; i <= steps; i++)
            {
                double x = low + (high - low) * i / steps;
                if (Try(x) >= targetMacs)
                {
                    double a = previous, b = x;
                    for (int j = 0; j < 40; j++)
                    {
                        double mid = (a + b) / 2;
                        if (Try(mid) < targetMacs) a = mid; else b = mid;
                    }
                    break;
                }
                previous = x;
            }
            return best!;
        }
    }

    /// <summary>MACs of a variant at a square input side.</summary>
    /// <param name="variant">The network.</param>
    /// <param name="resolution">Input side, in pixels.</param>
    /// <param name="numClasses">Classifier outputs.</param>
    public static long Macs(EfficientNetVariant variant, int resolution, int numClasses = 1000) =>
        EfficientNetSpec.Create(variant, numClasses).MultiplyAccumulates(resolution, resolution);
}
