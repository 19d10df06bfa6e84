using System.Diagnostics;
using System.Text.Json;
using Microsoft.ML.EfficientNet.Data;
using Microsoft.ML.EfficientNet.Weights;

namespace EfficientNet.Cli.Tests;

/// <summary>
/// samples/scale-out/ddp.sh (docs/SCALE-OUT.md): a run of <c>efficientnet train</c> fine-tuned by two PyTorch
/// DistributedDataParallel processes on Debian's torch (gloo, CPU), and what DDP saved taken back by
/// <c>efficientnet export</c> and <c>efficientnet evaluate</c>. A tiny run on 2 × 12 images at 32 px: the test shows the
/// round trip, not accuracy.
/// </summary>
[TestClass]
public sealed class DdpSampleTests
{
    public TestContext TestContext { get; set; } = null!;

    private const string Python = "/usr/bin/python3";
    private static readonly string Sample = Path.Combine(Fixtures.RepositoryRoot, "samples", "scale-out", "ddp.sh");

    /// <summary>A one-epoch run from scratch on 12 Trouser and 12 Bag images, and 20 test images of each for evaluate.</summary>
    private static readonly Lazy<(string Root, string Run, string Test)> TinyRun = new(() =>
    {
        string root = Path.Combine(Path.GetTempPath(), $"efficientnetml-ddp-{Environment.ProcessId}");
        if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
        string train = Path.Combine(root, "train"), test = Path.Combine(root, "test"), run = Path.Combine(root, "run");
        FashionMnist.Load(train: true).WriteImageFolder(train, 12, [1, 8]);
        FashionMnist.Load(train: false).WriteImageFolder(test, 20, [1, 8]);
        var trained = CliRunner.Run("train", "--data", train, "--validation", test, "--epochs", "1", "--batch-size", "8", "--image-size", "32",
            "--augment", "none", "--mean", "0.286", "--std", "0.353", "--crop-fraction", "1", "--from-scratch", "--seed", "1", "--output", run);
        Assert.AreEqual(0, trained.ExitCode, trained.Output + trained.Error);
        return (root, run, test);
    });

    [ClassCleanup]
    public static void RemoveTheRun()
    {
        if (TinyRun.IsValueCreated && Directory.Exists(TinyRun.Value.Root)) Directory.Delete(TinyRun.Value.Root, recursive: true);
    }

    [TestMethod]
    public void TwoRanksFineTuneARunAndExportAndEvaluateTakeItBack()
    {
        RequireTorch();
        var (root, run, test) = TinyRun.Value;
        using (var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "training.json"))))
        {
            // What ddp.py reopens: the folder the run trained on, made absolute.
            var data = summary.RootElement.GetProperty("data");
            Assert.AreEqual(Path.Combine(root, "train"), data.GetProperty("source").GetString());
            Assert.AreEqual(JsonValueKind.Null, data.GetProperty("perClass").ValueKind);
        }

        string output = Path.Combine(root, "ddp");
        var watch = Stopwatch.StartNew();
        var ddp = RunBash(Sample, "--run", run, "--output", output, "--processes", "2", "--epochs", "1", "--batch-size", "4");
        TestContext.WriteLine($"ddp.sh: {watch.Elapsed.TotalSeconds:F1} s\n{ddp.Output}{ddp.Error}");
        Assert.AreEqual(0, ddp.ExitCode, ddp.Output + ddp.Error);
        // Each rank names itself, and DistributedSampler gave each half of the 24 images.
        StringAssert.Contains(ddp.Output, "[rank 0/2] b0 2 classes, 24 images");
        StringAssert.Contains(ddp.Output, "[rank 0/2] epoch 1 loss ");
        StringAssert.Contains(ddp.Output, "[rank 1/2] epoch 1 loss ");
        StringAssert.Contains(ddp.Output, "(12 images, ");
        StringAssert.Contains(ddp.Output, "[rank 0/2] epoch 1 all ranks: loss ");

        // torchvision's names, the run's tensors' shapes and its recipe metadata; the weights moved.
        string weights = Path.Combine(output, "model.safetensors");
        var before = SafeTensorsFile.Read(Path.Combine(run, "model.safetensors"));
        var after = SafeTensorsFile.Read(weights);
        CollectionAssert.AreEquivalent(before.Keys.ToList(), after.Keys.ToList());
        CollectionAssert.AreEquivalent(before.Metadata.ToList(), after.Metadata.ToList());
        foreach (string key in (string[])["features.0.0.weight", "features.8.1.running_mean", "classifier.1.weight"])
        {
            CollectionAssert.AreEqual(before[key].Shape.ToArray(), after[key].Shape.ToArray(), key);
            double moved = before[key].Values.Zip(after[key].Values, (a, b) => Math.Abs(a - b)).Max();
            Assert.IsTrue(moved > 1e-6, $"{key} did not change: max |Δ| {moved:E2}");
        }

        string onnx = Path.Combine(output, "model.onnx");
        var exported = CliRunner.Run("export", "--weights", weights, "--output", onnx);
        Assert.AreEqual(0, exported.ExitCode, exported.Output + exported.Error);
        StringAssert.Contains(exported.Output, "mean 0.286,0.286,0.286");

        var evaluated = CliRunner.Run("evaluate", "--model", output, "--data", test, "--json");
        Assert.AreEqual(0, evaluated.ExitCode, evaluated.Output + evaluated.Error);
        using var metrics = JsonDocument.Parse(evaluated.Output);
        var m = metrics.RootElement;
        Assert.AreEqual(40, m.GetProperty("images").GetInt32());
        CollectionAssert.AreEqual(new[] { "Bag", "Trouser" }, m.GetProperty("labels").EnumerateArray().Select(l => l.GetString()).ToArray());
        // The accuracy is the confusion matrix's diagonal over its 40 images, whatever one epoch on 24 images reached.
        var confusion = m.GetProperty("confusion").EnumerateArray().Select(r => r.EnumerateArray().Select(c => c.GetInt32()).ToArray()).ToArray();
        Assert.AreEqual(40, confusion.Sum(r => r.Sum()));
        double accuracy = m.GetProperty("accuracy").GetDouble();
        Assert.AreEqual((confusion[0][0] + confusion[1][1]) / 40.0, accuracy, 1e-12);
        TestContext.WriteLine($"evaluate after DDP: accuracy {accuracy:P2} on 40 images");
    }

    [TestMethod]
    public void LiteRunsAreRefusedBeforeAnyRankStarts()
    {
        RequireTorch();
        var (root, run, _) = TinyRun.Value;
        string lite = Path.Combine(root, "lite");
        Directory.CreateDirectory(lite);
        var state = SafeTensorsFile.Read(Path.Combine(run, "model.safetensors"));
        var metadata = state.Metadata.ToDictionary(p => p.Key, p => p.Value);
        metadata[RecipeMetadata.VariantKey] = "lite0";
        SafeTensorsFile.Write(Path.Combine(lite, "model.safetensors"), state.Entries, metadata);
        File.Copy(Path.Combine(run, "training.json"), Path.Combine(lite, "training.json"));

        var refused = RunBash(Sample, "--run", lite, "--output", Path.Combine(root, "lite-out"));
        Assert.AreEqual(1, refused.ExitCode, refused.Output + refused.Error);
        StringAssert.Contains(refused.Error, "is EfficientNet-lite0: torchvision has no Lite models");
        Assert.IsFalse(refused.Output.Contains("[rank", StringComparison.Ordinal), refused.Output);
        Assert.IsFalse(Directory.Exists(Path.Combine(root, "lite-out")));
    }

    /// <summary>ddp.sh runs on Debian's python3-torch, which scripts/setup.sh installs (CI runs it).</summary>
    private static void RequireTorch()
    {
        // find_spec looks the packages up without importing torch, which costs seconds.
        const string check = "import importlib.util, sys; sys.exit(0 if all(importlib.util.find_spec(m) for m in ('torch', 'torchvision', 'numpy', 'PIL')) else 1)";
        if (!File.Exists(Python) || RunProcess(Python, "-c", check).ExitCode != 0)
            Assert.Inconclusive($"{Python} cannot import torch, torchvision, numpy and PIL: bash scripts/setup.sh installs Debian's python3-torch, which was not run on this machine.");
    }

    private static ProcessRunner.Result RunBash(string script, params string[] args) => RunProcess("bash", [script, .. args]);

    private static ProcessRunner.Result RunProcess(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{file} {string.Join(' ', args)} did not finish within 3 minutes.");
        }
        return new ProcessRunner.Result(process.ExitCode, output.Result, error.Result);
    }
}
