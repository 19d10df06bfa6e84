using System.Diagnostics;

namespace EfficientNet.Cli.Tests;

/// <summary>Starts the built <c>efficientnet</c> command (Release or Debug, whichever this test build is) and captures its output.</summary>
internal static class CliRunner
{
    public sealed record Result(int ExitCode, string Output, string Error);

    public static string CliAssembly
    {
        get
        {
            string configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}") ? "Debug" : "Release";
            string path = Path.Combine(Fixtures.RepositoryRoot, "src", "EfficientNet.Cli", "bin", configuration, "net10.0", "linux-x64", "efficientnet.dll");
            if (!File.Exists(path)) throw new InvalidOperationException($"{path} is missing: build src/EfficientNet.Cli first.");
            return path;
        }
    }

    public static Result Run(params string[] args) => Run(TimeSpan.FromMinutes(5), args);

    public static Result Run(TimeSpan timeout, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(CliAssembly);
        foreach (string a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"efficientnet {string.Join(' ', args)} did not finish within {timeout}.");
        }
        return new Result(process.ExitCode, output.Result, error.Result);
    }
}
