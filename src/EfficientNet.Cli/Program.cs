using System.CommandLine;
using EfficientNet.Cli.Bench;
using EfficientNet.Cli.Commands;

var root = new RootCommand("EfficientNet B0–B7 for .NET: inspect the family, export ONNX models, quantise them to int8, fine-tune, evaluate and compare variants, predict and explain, featurize, benchmark.");
root.Subcommands.Add(InfoCommand.Create());
root.Subcommands.Add(ExportCommand.Create());
root.Subcommands.Add(QuantizeCommand.Create());
root.Subcommands.Add(TrainCommand.Create());
root.Subcommands.Add(EvaluateCommand.Create());
root.Subcommands.Add(CompareCommand.Create());
root.Subcommands.Add(PredictCommand.Create());
root.Subcommands.Add(FeaturizeCommand.Create());
root.Subcommands.Add(BenchCommand.Create());

try
{
    // Errors a user can cause (bad argument, missing file, mismatched checkpoint) print one clear line, not a stack trace.
    return root.Parse(args).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
}
catch (Exception e) when (e is ArgumentException or IOException or InvalidDataException or InvalidOperationException
                              or Microsoft.ML.EfficientNet.Weights.CheckpointMismatchException or UnauthorizedAccessException)
{
    Console.Error.WriteLine($"error: {e.Message}");
    // EFFICIENTNET_DEBUG=1 shows where the error came from, for bug reports.
    if (Environment.GetEnvironmentVariable("EFFICIENTNET_DEBUG") == "1") Console.Error.WriteLine(e);
    return 1;
}
