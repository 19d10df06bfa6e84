using System.CommandLine;
using System.Globalization;
using Microsoft.ML.EfficientNet.Preprocessing;
using Microsoft.ML.EfficientNet.Weights;

namespace EfficientNet.Cli.Arguments;

/// <summary>
/// The flags that change part of the preprocessing a weights file comes with (its recorded recipe,
/// <see cref="RecipeMetadata"/>, else its published one), and the note a command prints when a flag overrides part of a
/// recorded recipe. The training commands' --mean, --std and --crop-fraction (<see cref="TrainingArguments"/>) are
/// checked by the same parses.
/// </summary>
internal static class RecipeArguments
{
    public static Option<int?> Resolution() => new Option<int?>("--resolution")
    {
        Description = "Network input side in pixels. Default: the size recorded in the weights file (a training run's), else the weights' published crop size. " +
                      "The recipe's mean, std and crop fraction are kept.",
    }.Within(PreprocessingRecipe.MinimumInputSize, PreprocessingRecipe.MaximumInputSize, "pixels");

    public static Option<string?> Mean() => new("--mean") { Description = "Normalisation mean, one value or R,G,B on the 0–1 scale. Default: the weights' recipe's." };

    public static Option<string?> Std() => new("--std") { Description = "Normalisation std, one value or R,G,B. Default: the weights' recipe's." };

    public static Option<double?> CropFraction() => new Option<double?>("--crop-fraction")
    {
        Description = "Centre crop as a fraction of the resize size (1 = no crop). Default: the weights' recipe's.",
    }.Within(0, 1, openMin: true);

    /// <summary>
    /// <paramref name="recipe"/> with the flags' parts changed: the resolution first (keeping the crop fraction), then the
    /// crop fraction (resize = ⌊crop / fraction⌋), mean and std; the interpolation is kept.
    /// </summary>
    /// <exception cref="ArgumentException">A flag's value is out of range or does not parse; the message names the flag.</exception>
    public static PreprocessingRecipe Apply(PreprocessingRecipe recipe, int? resolution, string? mean, string? std, double? cropFraction)
    {
        if (resolution is { } size) recipe = recipe.WithCropSize(size);
        if (cropFraction is { } fraction)
            recipe = recipe with { ResizeSize = PreprocessingRecipe.Centered(recipe.CropSize, fraction).ResizeSize };
        if (mean is not null) recipe = recipe with { Mean = ParseMean(mean) };
        if (std is not null) recipe = recipe with { Std = ParseStd(std) };
        return recipe;
    }

    /// <summary>The value of --mean: one number or R,G,B, finite.</summary>
    /// <exception cref="ArgumentException">It does not parse or is not finite; the message names the flag.</exception>
    public static RgbValues ParseMean(string text) => Parse("--mean", text, positive: false);

    /// <summary>The value of --std: one number or R,G,B, finite and positive.</summary>
    /// <exception cref="ArgumentException">It does not parse or is not finite and positive; the message names the flag.</exception>
    public static RgbValues ParseStd(string text) => Parse("--std", text, positive: true);

    /// <summary>
    /// Prints (to standard error, so standard output stays the command's result) what <paramref name="flags"/> change of
    /// the recipe <paramref name="file"/> records; nothing when it records none or nothing changes.
    /// </summary>
    public static void ReportOverride(string flags, string file, RecipeMetadata? recorded, PreprocessingRecipe chosen)
    {
        if (recorded is not null && RecipeMetadata.DescribeOverride(flags, file, recorded.Preprocessing, chosen) is { } note)
            Console.Error.WriteLine($"note: {note}");
    }

    /// <summary>The flags among <paramref name="flags"/> that were given, with their values, for the note.</summary>
    public static string Given(params (string Name, object? Value)[] flags) =>
        string.Join(" ", flags.Where(f => f.Value is not null).Select(f => string.Create(CultureInfo.InvariantCulture, $"{f.Name} {f.Value}")));

    private static RgbValues Parse(string flag, string text, bool positive)
    {
        RgbValues values;
        try
        {
            values = RgbValues.Parse(text);
        }
        catch (FormatException)
        {
            throw new ArgumentException($"{flag} '{text}' is not one number or three comma-separated numbers (R,G,B) on the 0–1 scale.");
        }
        if (values.ToArray().Any(v => !float.IsFinite(v) || (positive && v <= 0)))
            throw new ArgumentException($"{flag} '{text}' must be {(positive ? "finite numbers > 0" : "finite numbers")}.");
        return values;
    }
}
