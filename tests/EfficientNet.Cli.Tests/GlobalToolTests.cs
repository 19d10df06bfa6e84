using System.Diagnostics;
using System.Text.Json;

namespace EfficientNet.Cli.Tests;

/// <summary>
/// The <c>efficientnet</c> command as <c>scripts/setup.sh</c> installs it: a global .NET tool that a new login shell
/// finds, as the docs' commands (<c>efficientnet train …</c>) assume. Each test starts <c>bash -lc</c> with an empty
/// environment but HOME, so the PATH comes only from the login files setup wrote, not from this process. The tool is
/// installed by setup, not by the build: without it the tests are inconclusive and say to run setup.
/// </summary>
[TestClass]
public sealed class GlobalToolTests
{
    private static string Home => Environment.GetEnvironmentVariable("HOME") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

    /// <summary>Where <c>dotnet tool install --global</c> puts the command.</summary>
    private static string ToolCommand => Path.Combine(Home, ".dotnet", "tools", "efficientnet");

    private static void RequireInstalledTool()
    {
        if (!File.Exists(ToolCommand))
            Assert.Inconclusive($"{ToolCommand} is missing: the efficientnet tool is installed by 'bash scripts/setup.sh', which was not run on this machine.");
    }

    /// <summary>Runs <paramref name="script"/> in a new login shell (<c>bash -lc</c>) with only HOME set.</summary>
    private static ProcessRunner.Result LoginShell(string script, TimeSpan timeout)
    {
        var start = new ProcessStartInfo("/usr/bin/env") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in (string[])["-i", $"HOME={Home}", "bash", "-lc", script]) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"bash -lc '{script}' did not finish within {timeout}.");
        }
        return new ProcessRunner.Result(process.ExitCode, output.Result, error.Result);
    }

    private static string Quote(string s) => "'" + s.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    [TestMethod]
    public void ANewLoginShellRunsTheInstalledToolsInfoJson()
    {
        RequireInstalledTool();
        var which = LoginShell("command -v efficientnet", TimeSpan.FromSeconds(30));
        Assert.AreEqual(0, which.ExitCode, $"a login shell does not find efficientnet on its PATH (setup writes /etc/profile.d/dotnet-tools-path.sh):\n{which.Error}");
        Assert.AreEqual(ToolCommand, which.Output.Trim(), "the command a login shell runs is the global tool's");

        var result = LoginShell("efficientnet info --json", TimeSpan.FromMinutes(1));
        Assert.AreEqual(0, result.ExitCode, result.Error);
        using var json = JsonDocument.Parse(result.Output);
        var rows = json.RootElement.EnumerateArray().ToList();
        Assert.AreEqual(16, rows.Count, "B0–B7, V2-S/M/L and Lite0–Lite4");
        foreach (string field in (string[])["name", "width", "depth", "resolution", "dropout", "params", "macs", "top1", "top5", "stem", "head", "blocks", "stages", "final_feature_map"])
            Assert.IsTrue(rows.All(r => r.TryGetProperty(field, out _)), field);
        Assert.AreEqual("b0", rows[0].GetProperty("name").GetString());
        Assert.AreEqual(5_288_548, rows[0].GetProperty("params").GetInt64());
        Assert.AreEqual(385_814_752, rows[0].GetProperty("macs").GetInt64());
        Assert.AreEqual("v2-l", rows[10].GetProperty("name").GetString());
        Assert.AreEqual(118_515_272, rows[10].GetProperty("params").GetInt64());

        // The installed tool is this build's: the same answer as the command in the CLI's output folder.
        var built = CliRunner.Run("info", "--json");
        Assert.AreEqual(0, built.ExitCode, built.Error);
        Assert.AreEqual(built.Output, result.Output, "the installed tool differs from this build: run 'bash scripts/setup.sh' to update it");
    }

    /// <summary>
    /// The tool package carries the natives the app needs and runs them from its own folder: training loads libtorch
    /// (with the libstdc++ fix, or it would not load on Debian 12), evaluation ONNX Runtime.
    /// </summary>
    [TestMethod]
    public void TheInstalledToolTrainsWithLibtorchAndEvaluatesWithOnnxRuntimeFromItsOwnFolder()
    {
        RequireInstalledTool();
        using var dir = new TemporaryDirectory();
        string run = Path.Combine(dir.Path, "run"), trainNatives = Path.Combine(dir.Path, "train.natives"), evaluateNatives = Path.Combine(dir.Path, "evaluate.natives");
        string hook = $"DOTNET_STARTUP_HOOKS={Quote(typeof(StartupHook).Assembly.Location)} OMP_WAIT_POLICY=PASSIVE";
        string data = TrainCommandTests.Folders.Value.Validation;

        var train = LoginShell($"{hook} {StartupHook.NativesVariable}={Quote(trainNatives)} efficientnet train --data {Quote(data)} --epochs 1 --batch-size 16 " +
            $"--image-size 32 --from-scratch --seed 0 --threads 1 --output {Quote(run)}", TimeSpan.FromMinutes(3));
        Assert.AreEqual(0, train.ExitCode, train.Output + train.Error);
        var evaluate = LoginShell($"{hook} {StartupHook.NativesVariable}={Quote(evaluateNatives)} efficientnet evaluate --model {Quote(run)} --data {Quote(data)} --json",
            TimeSpan.FromMinutes(2));
        Assert.AreEqual(0, evaluate.ExitCode, evaluate.Error);
        using var metrics = JsonDocument.Parse(evaluate.Output);
        Assert.AreEqual(120, metrics.RootElement.GetProperty("images").GetInt32(), "60 validation images of each of 2 classes");
        double accuracy = metrics.RootElement.GetProperty("accuracy").GetDouble();
        Assert.IsTrue(accuracy is >= 0 and <= 1, $"accuracy {accuracy}");

        string toolFolder = Path.GetDirectoryName(Path.GetFullPath(new FileInfo(ToolCommand).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? ToolCommand))!;
        var trained = File.ReadAllLines(trainNatives);
        foreach (string library in (string[])["libLibTorchSharp.so", "libtorch_cpu.so"])
            CollectionAssert.Contains(trained, Path.Combine(toolFolder, library), $"train loaded {library} from the tool's folder; loaded: {string.Join(", ", trained)}");
        var evaluated = File.ReadAllLines(evaluateNatives);
        CollectionAssert.Contains(evaluated, Path.Combine(toolFolder, "libonnxruntime.so"), $"evaluate loaded ONNX Runtime from the tool's folder; loaded: {string.Join(", ", evaluated)}");
    }
}
