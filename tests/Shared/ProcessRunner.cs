using System.Diagnostics;

namespace EfficientNetML.Testing;

/// <summary>Runs a built .NET program of this repository as a separate process and captures its output.</summary>
public static class ProcessRunner
{
    public sealed record Result(int ExitCode, string Output, string Error);

    /// <summary>The output assembly of a project under the repository, in this test build's configuration.</summary>
    public static string BuiltAssembly(string projectFolder, string assemblyName)
    {
        string configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}") ? "Debug" : "Release";
        string path = Path.Combine(Fixtures.RepositoryRoot, projectFolder, "bin", configuration, "net10.0", "linux-x64", assemblyName + ".dll");
        if (!File.Exists(path)) throw new InvalidOperationException($"{path} is missing: build {projectFolder} first.");
        return path;
    }

    public static Result RunDotnet(string assembly, IEnumerable<string> args, TimeSpan? timeout = null, IDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(assembly);
        foreach (string a in args) start.ArgumentList.Add(a);
        if (environment is not null) foreach (var (k, v) in environment) start.Environment[k] = v;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        var limit = timeout ?? TimeSpan.FromMinutes(5);
        if (!process.WaitForExit(limit))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{Path.GetFileName(assembly)} {string.Join(' ', args)} did not finish within {limit}.");
        }
        return new Result(process.ExitCode, output.Result, error.Result);
    }
}
