using System.Diagnostics;
using Microsoft.ML.Data;
using Microsoft.ML.EfficientNet.Onnx;
using Microsoft.ML.EfficientNet.Preprocessing;
using Microsoft.ML.EfficientNet.Scoring;

namespace Microsoft.ML.EfficientNet.Benchmarking;

/// <summary>
/// Start-up from <c>Fit</c> to the first feature, for each tier of <see cref="OnnxExportCache"/>: nothing cached (the
/// weights are exported), the export only in the cache folder (what a later process finds), and the export in memory
/// (a second fit in the same process). Milliseconds.
/// </summary>
/// <param name="FirstFitMs">First fit in the process, empty cache folder: make the weights, hash them, export, open the sessions.</param>
/// <param name="FirstFeatureMs">From the same start to the first feature read.</param>
/// <param name="DiskFitMs">A fit with the memory tier cleared, so the export is read from the cache folder.</param>
/// <param name="DiskFeatureMs">From the same start to the first feature.</param>
/// <param name="SecondFitMs">A fit with the export in memory.</param>
/// <param name="SecondFeatureMs">From the same start to the first feature.</param>
internal sealed record FeaturizerStartup(double FirstFitMs, double FirstFeatureMs, double DiskFitMs, double DiskFeatureMs, double SecondFitMs, double SecondFeatureMs);

/// <summary>
/// Measurements of ML.NET pipelines over a column of image paths, shared by <c>efficientnet bench</c> and the
/// BenchmarkDotNet benchmarks: reading a column through, the preprocessing chain's output as one array (with its time),
/// the time of its steps, and the featurizer's start-up.
/// </summary>
internal static class FeaturizerMeasurements
{
    /// <summary>Reads every row's <paramref name="column"/> (a float vector); the rows read.</summary>
    /// <param name="view">The data to read.</param>
    /// <param name="column">A vector-of-float column.</param>
    /// <param name="expected">Rows that must be read, or negative for any number.</param>
    /// <exception cref="InvalidOperationException">Another number of rows was read than <paramref name="expected"/>.</exception>
    public static int Consume(IDataView view, string column, int expected = -1)
    {
        using var cursor = view.GetRowCursor(view.Schema.Where(c => c.Name == column));
        var getter = cursor.GetGetter<VBuffer<float>>(cursor.Schema[column]);
        VBuffer<float> value = default;
        int rows = 0;
        while (cursor.MoveNext())
        {
            getter(ref value);
            rows++;
        }
        if (expected >= 0 && rows != expected) throw new InvalidOperationException($"{rows} rows read from column '{column}', {expected} expected.");
        return rows;
    }

    /// <summary>
    /// The model input of the first <paramref name="count"/> images of <paramref name="pathColumn"/>, prepared by the plain
    /// ML.NET chain of <paramref name="recipe"/> (<c>LoadImages → ResizeImages → ExtractPixels</c>), one image after another
    /// in one array, and the seconds a timed pass took on one thread (after an untimed pass over a few images).
    /// </summary>
    public static (float[] Pixels, double Seconds) PreparedPixels(MLContext ml, IDataView paths, string pathColumn, PreprocessingRecipe recipe, int count)
    {
        var prep = ml.Transforms.LoadImages("Image", null, pathColumn)
            .Append(RecipeTransforms.Resize(ml.Transforms, recipe, "Image", "Resized"))
            .Append(RecipeTransforms.Extract(ml.Transforms, "Resized", "Pixels")).Fit(paths);
        int length = 3 * recipe.ResizeSize * recipe.ResizeSize;
        var pixels = new float[count * length];
        _ = prep.Transform(paths).GetColumn<VBuffer<float>>("Pixels").Take(Math.Min(count, 8)).Count();
        var watch = Stopwatch.StartNew();
        int row = 0;
        foreach (var v in prep.Transform(paths).GetColumn<VBuffer<float>>("Pixels").Take(count)) v.GetValues().CopyTo(pixels.AsSpan(row++ * length, length));
        if (row < count) throw new ArgumentException($"{row} images in the data, {count} asked for.", nameof(count));
        return (pixels, watch.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// Milliseconds per image, one thread, of the first one and two steps of the preprocessing chain over
    /// <paramref name="count"/> rows: <c>LoadImages</c> alone, then with <c>ResizeImages</c> (each after an untimed pass
    /// over a few images). With <see cref="PreparedPixels"/>' time they split the preprocessing into its steps.
    /// </summary>
    public static (double DecodeMs, double ResizedMs) PreprocessingPrefixes(MLContext ml, IDataView paths, string pathColumn, PreprocessingRecipe recipe, int count)
    {
        var decode = ml.Transforms.LoadImages("Image", null, pathColumn).Fit(paths);
        var resize = ml.Transforms.LoadImages("Image", null, pathColumn).Append(RecipeTransforms.Resize(ml.Transforms, recipe, "Image", "Resized")).Fit(paths);
        double Time(ITransformer chain, string column)
        {
            foreach (var image in chain.Transform(paths).GetColumn<MLImage>(column).Take(Math.Min(count, 8))) image.Dispose();
            var watch = Stopwatch.StartNew();
            foreach (var image in chain.Transform(paths).GetColumn<MLImage>(column)) image.Dispose();
            return watch.Elapsed.TotalMilliseconds / count;
        }
        return (Time(decode, "Image"), Time(resize, "Resized"));
    }

    /// <summary>
    /// Times <c>Fit</c> and the first feature of a featurizer with seeded random weights of <paramref name="variant"/>,
    /// three times over <paramref name="paths"/>: with an empty cache folder (a temporary one, deleted afterwards) and
    /// nothing in memory, with the export only in that folder, and with it in memory. Call it before anything else in
    /// the process has scored, so that the first fit carries what a new process pays.
    /// </summary>
    public static FeaturizerStartup Startup(string variant, int? resolution, IDataView paths, string pathColumn)
    {
        const string features = "Features";
        string folder = Directory.CreateTempSubdirectory("efficientnet-startup-").FullName;
        try
        {
            (double Fit, double First) Once()
            {
                var ml = new MLContext(seed: 1);
                var watch = Stopwatch.StartNew();
                using var featurizer = ml.Transforms.EfficientNetFeaturizer(variant, features, pathColumn,
                    new EfficientNetFeaturizerOptions { UseRandomWeights = true, Resolution = resolution, CacheDirectory = folder }).Fit(paths);
                double fit = watch.Elapsed.TotalMilliseconds;
                Consume(ml.Data.TakeRows(featurizer.Transform(paths), 1), features, expected: 1);
                return (fit, watch.Elapsed.TotalMilliseconds);
            }
            OnnxExportCache.Clear();
            var first = Once();
            OnnxExportCache.Clear();
            var disk = Once();
            var memory = Once();
            return new FeaturizerStartup(first.Fit, first.First, disk.Fit, disk.First, memory.Fit, memory.First);
        }
        finally
        {
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
        }
    }
}
