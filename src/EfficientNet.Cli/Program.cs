using System.CommandLine;
using EfficientNet.Cli.Bench;
using EfficientNet.Cli.Commands;
using EfficientNet.Cli.Output;

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
    var parsed = root.Parse(args);
    // A value that does not parse or is out of range (Arguments/Numbers), an unknown flag, a missing required one: one
    // error line each, as for every other refusal, rather than the full help.
    if (parsed.Errors.Count > 0 && parsed.CommandResult.Command != root)
    {
        foreach (var error in parsed.Errors) Terminal.Error("error", error.Message);
        return 1;
    }
    return parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
}
catch (Exception e) when (e is ArgumentException or IOException or InvalidDataException or InvalidOperationException
                              or Microsoft.ML.EfficientNet.Weights.CheckpointMismatchException or UnauthorizedAccessException)
{
    return Failed(e, Terminal.InFlagWords(e));
}
catch (Exception e)
{
    // Anything else is a defect, not the user's doing; still one line and exit code 1 (never the runtime's 134), with the
    // kind of failure to quote in a bug report.
    return Failed(e, $"{Terminal.InFlagWords(e)} ({e.GetType().Name}; run with EFFICIENTNET_DEBUG=1 for details to report)");
}

static int Failed(Exception e, string message)
{
    Terminal.Error("error", message);
    // EFFICIENTNET_DEBUG=1 shows where the error came from, for bug reports.
    if (Environment.GetEnvironmentVariable("EFFICIENTNET_DEBUG") == "1") Console.Error.WriteLine(e);
    return 1;
}
