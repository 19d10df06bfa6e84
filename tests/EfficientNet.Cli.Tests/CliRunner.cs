using System.Diagnostics;
using System.Text;

namespace EfficientNet.Cli.Tests;

/// <summary>Starts the built <c>efficientnet</c> command and captures its output.</summary>
internal static class CliRunner
{
    /// <summary>The built command's assembly, to start with <c>dotnet</c>.</summary>
    public static string Assembly => ProcessRunner.BuiltAssembly(Path.Combine("src", "EfficientNet.Cli"), "efficientnet");

    public static ProcessRunner.Result Run(params string[] args) => ProcessRunner.RunDotnet(Assembly, args);

    /// <summary>Starts the command without waiting for it, to kill it or signal it while it runs.</summary>
    public static RunningCli Start(params string[] args) => new(Assembly, args);
}

/// <summary>A running <c>efficientnet</c> process; its standard output and error are collected as they come.</summary>
internal sealed class RunningCli : IDisposable
{
    private readonly StringBuilder _output = new();

    public RunningCli(string assembly, IEnumerable<string> args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(assembly);
        foreach (string a in args) start.ArgumentList.Add(a);
        Process = new Process { StartInfo = start };
        Process.OutputDataReceived += (_, e) => Append(e.Data);
        Process.ErrorDataReceived += (_, e) => Append(e.Data);
        Process.Start();
        Process.BeginOutputReadLine();
        Process.BeginErrorReadLine();
    }

    public Process Process { get; }

    public bool HasExited => Process.HasExited;

    /// <summary>Standard output and error so far, interleaved as they arrived.</summary>
    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    /// <summary>SIGKILL: the process gets no chance to save or clean anything.</summary>
    public void Kill()
    {
        Process.Kill(entireProcessTree: true);
        Process.WaitForExit();
    }

    public void Dispose()
    {
        if (!Process.HasExited) Kill();
        Process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
    }
}
