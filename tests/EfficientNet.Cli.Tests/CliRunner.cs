namespace EfficientNet.Cli.Tests;

/// <summary>Starts the built <c>efficientnet</c> command and captures its output.</summary>
internal static class CliRunner
{
    /// <summary>The built command's assembly, to start with <c>dotnet</c>.</summary>
    public static string Assembly => ProcessRunner.BuiltAssembly(Path.Combine("src", "EfficientNet.Cli"), "efficientnet");

    public static ProcessRunner.Result Run(params string[] args) => ProcessRunner.RunDotnet(Assembly, args);
}
