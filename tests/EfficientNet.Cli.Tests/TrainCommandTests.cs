using System.Diagnostics;
using System.Text.Json;
using Microsoft.ML.EfficientNet.Data;
using Microsoft.ML.EfficientNet.Weights;

namespace EfficientNet.Cli.Tests;

/// <summary>The train and evaluate commands on image folders written from Fashion-MNIST (real data), at 32 px.</summary>
[TestClass]
public sealed class TrainCommandTests
{
    public TestContext TestContext { get; set; } = null!;

    internal static readonly Lazy<(string Train, string Validation)> Folders = new(() =>
    {
        string root = Path.Combine(Path.GetTempPath(), "efficientnetml-cli-tests");
        string train = Path.Combine(root, "train"), validation = Path.Combine(root, "validation");
        if (!Directory.Exists(train)) FashionMnist.Load(train: true).WriteImageFolder(train, 400, [1, 8]);
        if (!Directory.Exists(validation)) FashionMnist.Load(train: false).WriteImageFolder(validation, 60, [1, 8]);
        return (train, validation);
    });

    internal static string[] TrainArgs(string output, int epochs) =>
    [
        "train", "--data", Folders.Value.Train, "--validation", Folders.Value.Validation, "--epochs", epochs.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--batch-size", "16", "--image-size", "32", "--augment", "shift", "--mean", "0.286", "--std", "0.353", "--crop-fraction", "1",
        "--lr", "3e-3", "--seed", "3", "--from-scratch", "--output", output,
    ];

    private static float[] Weights(string run) => SafeTensorsFile.Read(Path.Combine(run, "model.safetensors")).Entries.SelectMany(e => e.Value.Values).ToArray();

    /// <summary>One two-epoch run shared by the tests that need a trained model (training is the slow part).</summary>
    internal static readonly Lazy<(string Run, ProcessRunner.Result Result)> TrainedRun = new(() =>
    {
        string run = Path.Combine(Path.GetTempPath(), $"efficientnetml-cli-trained-{Environment.ProcessId}");
        if (Directory.Exists(run)) Directory.Delete(run, recursive: true);
        return (run, CliRunner.Run(TrainArgs(run, 2)));
    });

    [AssemblyCleanup]
    public static void RemoveTheSharedRun()
    {
        if (TrainedRun.IsValueCreated && Directory.Exists(TrainedRun.Value.Run)) Directory.Delete(TrainedRun.Value.Run, recursive: true);
    }

    [TestMethod]
    public void TrainThenEvaluateReportsTheSameAccuracyAsValidation()
    {
        var (run, trained) = TrainedRun.Value;
        Assert.AreEqual(0, trained.ExitCode, trained.Output + trained.Error);
        StringAssert.Contains(trained.Output, "best validation accuracy");
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "training.json")));
        double best = summary.RootElement.GetProperty("bestAccuracy").GetDouble();
        Assert.IsTrue(best >= 0.9, $"validation accuracy {best:P1}");

        var evaluated = CliRunner.Run("evaluate", "--model", run, "--data", Folders.Value.Validation, "--json");
        Assert.AreEqual(0, evaluated.ExitCode, evaluated.Error);
        using var metrics = JsonDocument.Parse(evaluated.Output);
        // The exported ONNX model on ML.NET-prepared pixels scores exactly what validation scored during training.
        Assert.AreEqual(best, metrics.RootElement.GetProperty("accuracy").GetDouble(), 1e-9);
        Assert.AreEqual(120, metrics.RootElement.GetProperty("images").GetInt32());

        // 60 images of each class: the majority-class rate is 50 %; top-5 of two classes is no measurement, so it is absent.
        Assert.AreEqual(0.5, metrics.RootElement.GetProperty("chance_accuracy").GetDouble(), 1e-12);
        Assert.IsTrue(metrics.RootElement.GetProperty("above_chance").GetBoolean());
        Assert.AreEqual(JsonValueKind.Null, metrics.RootElement.GetProperty("top5").ValueKind);
        Assert.AreEqual(0.5, summary.RootElement.GetProperty("chance_accuracy").GetDouble(), 1e-12);
        Assert.IsTrue(summary.RootElement.GetProperty("above_chance").GetBoolean());

        var table = CliRunner.Run("evaluate", "--model", Path.Combine(run, "model.onnx"), "--data", Folders.Value.Validation);
        StringAssert.Contains(table.Output, "accuracy");
        StringAssert.Contains(table.Output, "majority-class rate 50.00 %");
        Assert.IsFalse(table.Output.Contains("top-5", StringComparison.Ordinal), table.Output);
        Assert.IsFalse(trained.Output.Contains("top-5", StringComparison.Ordinal), trained.Output);
        StringAssert.Contains(table.Output, "Trouser");
        StringAssert.Contains(table.Output, "recall");
    }

    [TestMethod]
    public void FromScratchOnThreeClassesOfFortyImagesTheRunSaysItIsAtChance()
    {
        // The small-data case: 40 images of T-shirt, Trouser and Sneaker, the default 10 % held out (4 per class), two
        // epochs from random weights. Eight steps leave batch-norm statistics and weights near their start, so the
        // evaluation-mode network is no better than guessing, and the run must say so with the numbers.
        using var dir = new TemporaryDirectory();
        string run = Path.Combine(dir.Path, "run");
        var result = CliRunner.Run("train", "--data", "fashion-mnist", "--classes", "0,1,7", "--per-class", "40", "--epochs", "2", "--image-size", "32",
            "--from-scratch", "--seed", "0", "--output", run);
        string log = result.Output + result.Error;
        Assert.AreEqual(0, result.ExitCode, log);
        TestContext.WriteLine(log);
        StringAssert.Contains(log, "Training b0 from scratch on 120 images, 3 classes");
        // The last line of the output, whole: the numbers, the cause and what to do.
        var lines = result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        string warning = lines[^1];
        StringAssert.StartsWith(warning, "Warning: At chance: accuracy ");
        StringAssert.Contains(warning, "12 images) is not above the majority-class rate 33.33 %");
        StringAssert.Contains(warning, "Likely cause: training from scratch on 108 images");
        StringAssert.Contains(warning, "2 epochs, learning rate 0.001");
        StringAssert.Contains(warning, "What to do: start from pretrained weights");
        StringAssert.Contains(lines[^2], "majority-class rate 33.33 %.");
        // After each validation as well as at the end.
        Assert.IsTrue(log.Split('\n').Count(l => l.Contains("epoch 1/2: At chance: ", StringComparison.Ordinal)) == 1, log);
        Assert.IsFalse(log.Contains("top-5", StringComparison.Ordinal), "three classes: no top-5");
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "training.json")));
        var root = summary.RootElement;
        Assert.AreEqual(12, root.GetProperty("validationImages").GetInt32());
        Assert.AreEqual(1 / 3.0, root.GetProperty("chance_accuracy").GetDouble(), 1e-12);
        Assert.IsFalse(root.GetProperty("above_chance").GetBoolean());
        Assert.AreEqual(JsonValueKind.Null, root.GetProperty("initialWeights").ValueKind);
        // The data flags, for tools that open the same images again (samples/scale-out/ddp.py).
        var data = root.GetProperty("data");
        Assert.AreEqual("fashion-mnist", data.GetProperty("source").GetString());
        CollectionAssert.AreEqual(new[] { 0, 1, 7 }, data.GetProperty("fashionMnistLabels").EnumerateArray().Select(l => l.GetInt32()).ToArray());
        Assert.AreEqual(40, data.GetProperty("perClass").GetInt32());
    }

    [TestMethod]
    public void KeepLastExportsTheLastEpochsWeights()
    {
        using var dir = new TemporaryDirectory();
        string run = Path.Combine(dir.Path, "run");
        var trained = CliRunner.Run([.. TrainArgs(run, 2), "--per-class", "48", "--keep", "last"]);
        Assert.AreEqual(0, trained.ExitCode, trained.Output + trained.Error);
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "training.json")));
        Assert.AreEqual("last", summary.RootElement.GetProperty("keep").GetString());
        Assert.AreEqual(2, summary.RootElement.GetProperty("keptEpoch").GetInt32());
        var last = SafeTensorsFile.Read(Path.Combine(run, "checkpoints", "epoch-0002", "model.safetensors")).Entries.SelectMany(e => e.Value.Values).ToArray();
        CollectionAssert.AreEqual(last, Weights(run));

        var wrong = CliRunner.Run([.. TrainArgs(Path.Combine(dir.Path, "other"), 1), "--keep", "first"]);
        Assert.AreEqual(1, wrong.ExitCode);
        StringAssert.Contains(wrong.Error, "Unknown --keep 'first'. Valid: best, last.");
    }

    [TestMethod]
    public void WithoutNetworkOrCachedWeightsTrainSaysWhereToPutThemOrToTrainFromScratch()
    {
        using var dir = new TemporaryDirectory();
        string cache = Path.Combine(dir.Path, "empty-cache"), run = Path.Combine(dir.Path, "run");
        // Downloads go through a proxy that refuses connections: offline, as on a machine without network access.
        var result = ProcessRunner.RunDotnet(CliRunner.Assembly, ["train", "--data", Folders.Value.Validation, "--epochs", "1", "--image-size", "32", "--output", run],
            environment: new Dictionary<string, string>
            {
                [WeightCache.DirectoryVariable] = cache,
                ["HTTPS_PROXY"] = "http://127.0.0.1:9",
                ["HTTP_PROXY"] = "http://127.0.0.1:9",
                ["NO_PROXY"] = "",
            });
        TestContext.WriteLine(result.Error);
        Assert.AreEqual(1, result.ExitCode, result.Output + result.Error);
        var published = PretrainedWeights.Torchvision(Microsoft.ML.EfficientNet.Architecture.EfficientNetVariant.B0);
        StringAssert.StartsWith(result.Error, "error: ");
        StringAssert.Contains(result.Error, published.Url.ToString());
        StringAssert.Contains(result.Error, Path.Combine(cache, published.FileName));
        StringAssert.Contains(result.Error, "--from-scratch on the command line");
        StringAssert.Contains(result.Error, "InitialWeights = null in C#");
        Assert.IsFalse(result.Error.Contains("   at ", StringComparison.Ordinal), "no stack trace");
        Assert.IsFalse(File.Exists(Path.Combine(run, "model.onnx")));

        var both = CliRunner.Run("train", "--data", Folders.Value.Validation, "--from-scratch", "--weights", "start.pth", "--output", run);
        Assert.AreEqual(1, both.ExitCode);
        StringAssert.Contains(both.Error, "--from-scratch and --weights 'start.pth' contradict each other");
    }

    [TestMethod]
    public void ReportWritesTheCurvesAndAnHtmlPageIntoTheRunFolder()
    {
        using var dir = new TemporaryDirectory();
        string run = Path.Combine(dir.Path, "run");
        var trained = CliRunner.Run([.. TrainArgs(run, 1), "--per-class", "48", "--report"]);
        Assert.AreEqual(0, trained.ExitCode, trained.Output + trained.Error);
        StringAssert.Contains(trained.Output, "report.html");
        string curves = Path.Combine(run, "training-curves.png");
        using (var bitmap = SkiaSharp.SKBitmap.Decode(curves))
        {
            Assert.IsNotNull(bitmap, "training-curves.png decodes");
            Assert.AreEqual(1200, bitmap.Width);
        }
        string html = File.ReadAllText(Path.Combine(run, "report.html"));
        StringAssert.Contains(html, "<img src=\"training-curves.png\"");
        StringAssert.Contains(html, "<td>1</td>"); // the epoch row
    }

    [TestMethod]
    public void AKilledRunResumesFromItsLastCheckpointToTheSameWeights()
    {
        using var dir = new TemporaryDirectory();
        string straight = Path.Combine(dir.Path, "straight"), killed = Path.Combine(dir.Path, "killed");
        Assert.AreEqual(0, CliRunner.Run(TrainArgs(straight, 3)).ExitCode);

        // Start the same run, kill it (SIGKILL) once the first epoch's checkpoint is complete, and run it again.
        using (var process = CliRunner.Start(TrainArgs(killed, 3)))
        {
            string latest = Path.Combine(killed, "checkpoints", "latest");
            var deadline = DateTime.UtcNow.AddMinutes(3);
            while (!File.Exists(latest) && !process.HasExited && DateTime.UtcNow < deadline) Thread.Sleep(100);
            Assert.IsFalse(process.HasExited, "the run finished before it could be killed");
            process.Kill();
        }
        Assert.IsFalse(File.Exists(Path.Combine(killed, "model.onnx")), "killed before the end");
        var resumed = CliRunner.Run(TrainArgs(killed, 3));
        Assert.AreEqual(0, resumed.ExitCode, resumed.Error);
        StringAssert.Contains(resumed.Output, "Resuming from");
        Assert.AreEqual(0.0, Parity.MaxAbsDiff(Weights(straight), Weights(killed)), "resumed weights equal the uninterrupted run's");
    }

    [TestMethod]
    public void CtrlCSavesACheckpointAndExitsWith130()
    {
        using var dir = new TemporaryDirectory();
        string run = Path.Combine(dir.Path, "run");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(ProcessRunner.BuiltAssembly(Path.Combine("src", "EfficientNet.Cli"), "efficientnet"));
        foreach (string a in TrainArgs(run, 50)) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEndAsync();
        string latest = Path.Combine(run, "checkpoints", "latest");
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (!File.Exists(latest) && !process.HasExited && DateTime.UtcNow < deadline) Thread.Sleep(100);
        Process.Start("kill", ["-INT", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();
        Assert.IsTrue(process.WaitForExit(TimeSpan.FromMinutes(2)), "the run did not stop after SIGINT");
        Assert.AreEqual(130, process.ExitCode, error.Result);
        StringAssert.Contains(output.Result, "Cancelled at epoch");
        Assert.IsTrue(Directory.GetDirectories(Path.Combine(run, "checkpoints"), "interrupted-*").Length == 1);
    }

    [TestMethod]
    public void DamagedAndOversizedFilesAreSkippedWithOneWarningEachAndTheRunFinishes()
    {
        using var dir = new TemporaryDirectory();
        string data = Path.Combine(dir.Path, "data"), run = Path.Combine(dir.Path, "run");
        FashionMnist.Load(train: true).WriteImageFolder(data, 48, [1, 8]);
        string folder = Path.Combine(data, FashionMnist.FolderName(1));
        byte[] png = File.ReadAllBytes(Directory.GetFiles(folder, "*.png").Order(StringComparer.Ordinal).First());
        byte[] jpeg;
        using (var bitmap = SkiaSharp.SKBitmap.Decode(png))
        using (var encoded = bitmap.Encode(SkiaSharp.SKEncodedImageFormat.Jpeg, 95)) jpeg = encoded.ToArray();
        byte[] large;
        using (var bitmap = new SkiaSharp.SKBitmap(40, 40))
        {
            bitmap.Erase(new SkiaSharp.SKColor(90, 90, 90));
            using var encoded = bitmap.Encode(SkiaSharp.SKEncodedImageFormat.Png, 100);
            large = encoded.ToArray();
        }
        // Each bad file with what its warning must say; the 40×40 PNG is an ordinary file over --max-image-pixels 1000.
        var bad = new (string Name, byte[] Bytes, string Reason)[]
        {
            ("truncated.png", png[..(png.Length * 2 / 3)], "is truncated"),
            ("truncated.jpg", jpeg[..(jpeg.Length * 2 / 3)], "is truncated"),
            ("huge-header.png", HandPng.Write(100000, 100000, colourType: 2, bitDepth: 8, rows: new byte[1000]), "claims 100000×100000 pixels (10,000,000,000), more than the limit of 1,000"),
            ("large.png", large, "claims 40×40 pixels (1,600), more than the limit of 1,000 (MaxImagePixels)"),
        };
        foreach (var (name, bytes, _) in bad) File.WriteAllBytes(Path.Combine(folder, name), bytes);

        var result = CliRunner.Run("train", "--data", data, "--epochs", "2", "--batch-size", "16", "--image-size", "32", "--augment", "shift", "--mean", "0.286",
            "--std", "0.353", "--crop-fraction", "1", "--seed", "3", "--max-image-pixels", "1000", "--from-scratch", "--output", run);
        string log = result.Output + result.Error;
        Assert.AreEqual(0, result.ExitCode, log);
        Assert.IsTrue(File.Exists(Path.Combine(run, "model.onnx")), "the run finished and exported");
        using (var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "training.json"))))
            Assert.AreEqual(2, summary.RootElement.GetProperty("history").GetArrayLength(), "both epochs ran");
        var lines = log.Split('\n');
        foreach (var (name, _, reason) in bad)
        {
            string path = Path.Combine(folder, name);
            var named = lines.Where(l => l.Contains(path, StringComparison.Ordinal)).ToList();
            // Once per run: not again in the second epoch, nor when validation meets it.
            Assert.AreEqual(1, named.Count, $"{name}:\n{log}");
            StringAssert.Contains(named[0], $"Skipped {path}: ", name);
            StringAssert.Contains(named[0], reason, name);
            TestContext.WriteLine(named[0]);
        }
        Assert.AreEqual(bad.Length, lines.Count(l => l.Contains("Skipped ", StringComparison.Ordinal)), log);
    }

    [TestMethod]
    public void CudaIsRefusedWithAClearMessage()
    {
        using var dir = new TemporaryDirectory();
        var result = CliRunner.Run([.. TrainArgs(Path.Combine(dir.Path, "run"), 1), "--device", "cuda"]);
        Assert.AreEqual(1, result.ExitCode);
        StringAssert.Contains(result.Error, "no CUDA support");
        Assert.IsFalse(Directory.Exists(Path.Combine(dir.Path, "run")));
    }
}
