namespace EfficientNet.Cli.Tests;

/// <summary>Starts the built <c>efficientnet</c> command and captures its output.</summary>
internal static class CliRunner
{
    public static ProcessRunner.Result Run(params string[] args) =>
        ProcessRunner.RunDotnet(ProcessRunner.BuiltAssembly(Path.Combine("src", "EfficientNet.Cli"), "efficientnet"), args);
}
