namespace EfficientNet.Cli.Commands;

/// <summary>
/// Exit codes that more than one command returns (scripts rely on them). 0 is success and 1 a bad argument or file
/// (Program.cs).
/// </summary>
internal static class ExitCodes
{
    /// <summary>predict and featurize: some images could not be read, but the run completed and their rows say why.</summary>
    public const int SomeImagesFailed = 2;

    /// <summary>train and compare: stopped by Ctrl+C after saving a checkpoint; running again resumes.</summary>
    public const int Cancelled = 130;
}
