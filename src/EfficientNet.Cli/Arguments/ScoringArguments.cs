using System.CommandLine;

namespace EfficientNet.Cli.Arguments;

/// <summary>The batch size of the commands that score through ONNX Runtime (evaluate, predict, featurize).</summary>
internal static class ScoringArguments
{
    /// <param name="defaultValue">The command's default: what its scoring component batches by default.</param>
    public static Option<int> BatchSize(int defaultValue) => new Option<int>("--batch-size")
    {
        DefaultValueFactory = _ => defaultValue,
        Description = "Images per ONNX Runtime call.",
    }.Within(1, MaxBatchSize);

    /// <summary>The largest --batch-size: a batch's pixels at the largest input size stay within what one array holds.</summary>
    private const int MaxBatchSize = 4096;

    /// <summary>The value of <paramref name="batchSize"/>, checked.</summary>
    /// <exception cref="ArgumentException">Below 1; the message names the flag and the value.</exception>
    public static int Read(ParseResult result, Option<int> batchSize) => result.GetValue(batchSize);
}
