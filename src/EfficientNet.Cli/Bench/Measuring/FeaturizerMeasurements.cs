using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.EfficientNet.Preprocessing;

namespace EfficientNet.Cli.Bench.Measuring;

/// <summary>
/// Measurements of ML.NET pipelines over a column of image paths, shared by <c>efficientnet bench</c> and the
/// BenchmarkDotNet benchmarks: reading a column through, the preprocessing chain's output as one array (with its time),
/// and the time of its steps (<c>FeaturizerStartup</c> times the featurizer's start-up).
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
}
