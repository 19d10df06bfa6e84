using System.CommandLine;

namespace EfficientNet.Cli.Arguments;

/// <summary>The batch size of the commands that score through ONNX Runtime (evaluate, predict, featurize).</summary>
internal static class ScoringArguments
{
    /// <param name="defaultValue">The command's default: what its scoring component batches by default.</param>
    public static Option<int> BatchSize(int defaultValue) => new("--batch-size")
    {
        DefaultValueFactory = _ => defaultValue,
        Description = "Images per ONNX Runtime call.",
    };

    /// <summary>The value of <paramref name="batchSize"/>, checked.</summary>
    /// <exception cref="ArgumentException">Below 1; the message names the flag and the value.</exception>
    public static int Read(ParseResult result, Option<int> batchSize)
    {
        int value = result.GetValue(batchSize);
        if (value < 1) throw new ArgumentException($"--batch-size must be at least 1; got {value}.");
        return value;
    }
}
