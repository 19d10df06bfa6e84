using System.CommandLine;
using Microsoft.ML.EfficientNet.Weights;

namespace EfficientNet.Cli.Arguments;

/// <summary>The flags about a checkpoint file that every command reading one takes alike (train, export, featurize).</summary>
internal static class WeightsArguments
{
    public static Option<string?> Format() => new("--format")
    {
        Description = $"Format of --weights: {Choices.Alternatives(WeightFormats.Names)[..^1]}. Default: detected from the key names.",
    };

    /// <summary>The value of --format; null when it was not given (detected).</summary>
    public static WeightFormat? ParseFormat(string? format) => format is null ? null : WeightFormats.Parse(format);
}
