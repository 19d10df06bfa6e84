using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.EfficientNet.IO;
using Microsoft.ML.EfficientNet.Weights;

namespace EfficientNet.Cli.Tests;

/// <summary>
/// <c>efficientnet train</c> killed with SIGKILL again and again in one run folder: every kill leaves a latest checkpoint
/// that loads, and every restart resumes from it.
/// </summary>
[TestClass]
public sealed partial class CrashSafetyTests
{
    private const int Kills = 20;

    // 32 images per class and batch 16: 4 steps and one checkpoint (48 MB: weights and AdamW state) every 0.5 to 1 s.
    // The kills took 10 to 22 epochs of the run (see the moments below: their delays are in seconds, so a faster machine
    // gets further; 24 epochs once ran out before the 20th kill on a CI host); the final run does the rest.
    private const int Epochs = 48;

    public TestContext TestContext { get; set; } = null!;

    private static string[] Args(string run) =>
        [.. TrainCommandTests.TrainArgs(run, Epochs), "--per-class", "32", "--threads", "1"];

    [TestMethod]
    public void TwentySigkillsAtRandomMomentsAlwaysLeaveALatestCheckpointThatLoadsAndTheRunFinishes()
    {
        using var dir = new TemporaryDirectory();
        var folder = new RunFolder(Path.Combine(dir.Path, "run"));
        var random = new Random(12);
        var clock = Stopwatch.StartNew();
        int duringWrites = 0, resumes = 0;
        (string Path, long Steps)? last = null;
        for (int kill = 1; kill <= Kills; kill++)
        {
            // The moment: once the process has started training (after "Resuming from" once there is a checkpoint),
            // after 0 or 1 checkpoints of its own, a random delay. Half the kills then also wait for the next checkpoint
            // folder being written (its temporary name appearing) and kill right then. Each process so adds one to a few
            // epochs, which with Epochs' margin keeps the run from finishing before the last kill.
            bool atAWrite = kill % 2 == 0;
            int ownCheckpoints = random.Next(2);
            var delay = TimeSpan.FromSeconds(random.NextDouble() * (ownCheckpoints == 0 ? 2.0 : 1.0));
            var debrisBefore = Debris(folder);
            using var process = CliRunner.Start(Args(folder.Root));
            var started = Stopwatch.StartNew();
            string ready = last is null ? "Training b0" : "Resuming from";
            WaitFor(process, kill, ready, () => process.Output.Contains(ready, StringComparison.Ordinal));
            string? seen = LatestName(folder);
            for (int c = 0; c < ownCheckpoints; c++)
            {
                WaitFor(process, kill, "a checkpoint", () => LatestName(folder) != seen);
                seen = LatestName(folder);
            }
            var moment = Stopwatch.StartNew();
            while (!process.HasExited && moment.Elapsed < delay) Thread.Sleep(2);
            if (atAWrite) WaitFor(process, kill, "a checkpoint write", () => Debris(folder).Except(debrisBefore).Any());
            Assert.IsFalse(process.HasExited, $"kill {kill}: the run ended before it was killed:\n{process.Output}");
            process.Kill();
            double at = started.Elapsed.TotalSeconds;

            // A checkpoint write the kill cut short leaves its temporary folder (or latest.tmp-*) behind.
            bool inWrite = Debris(folder).Except(debrisBefore).Any();
            if (inWrite) duringWrites++;
            string output = process.Output;
            if (last is { } previous)
            {
                StringAssert.Contains(output, $"Resuming from {previous.Path}:", $"kill {kill}: the restart resumed from the checkpoint the last kill left");
                resumes++;
            }
            var latest = VerifyLatest(folder, kill);
            if (last is { } before)
            {
                Assert.IsNotNull(latest, $"kill {kill}: latest disappeared");
                Assert.IsTrue(latest.Value.Steps >= before.Steps, $"kill {kill}: latest went back from step {before.Steps} to {latest.Value.Steps}: the restart did not resume");
            }
            last = latest ?? last;
            TestContext.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"kill {kill,2} at {at,5:F2} s ({(atAWrite ? "at a write" : "random")}): {(inWrite ? "inside a checkpoint write" : "between writes")}; latest {(latest is { } l ? $"{Path.GetFileName(l.Path)} (step {l.Steps})" : "none yet")}"));
        }

        // Uninterrupted, the run resumes from the last checkpoint and finishes.
        var final = CliRunner.Run(Args(folder.Root));
        Assert.AreEqual(0, final.ExitCode, final.Output + final.Error);
        Assert.IsNotNull(last, "no checkpoint was ever completed");
        StringAssert.Contains(final.Output, $"Resuming from {last.Value.Path}:");
        using (var summary = JsonDocument.Parse(File.ReadAllText(folder.SummaryPath)))
        {
            Assert.AreEqual("Completed", summary.RootElement.GetProperty("status").GetString());
            Assert.AreEqual(Epochs, summary.RootElement.GetProperty("history").GetArrayLength());
        }
        Assert.IsTrue(new FileInfo(folder.ModelPath).Length > 1_000_000, "model.onnx exported");
        TestContext.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{Kills} SIGKILLs survived, {duringWrites} inside a checkpoint write, {resumes} restarts resumed from the checkpoint the kill before left; {clock.Elapsed.TotalSeconds:F1} s in all"));
        Assert.IsTrue(duringWrites >= Kills / 4, $"only {duringWrites} of {Kills} kills landed inside a checkpoint write");
    }

    /// <summary>Waits (polling every millisecond) until <paramref name="condition"/> holds; fails if the process ends or a minute passes first.</summary>
    private static void WaitFor(RunningCli process, int kill, string what, Func<bool> condition)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.IsFalse(process.HasExited, $"kill {kill}: the run ended while waiting for {what}:\n{process.Output}");
            Assert.IsTrue(deadline.Elapsed < TimeSpan.FromMinutes(1), $"kill {kill}: no {what} within a minute:\n{process.Output}");
            Thread.Sleep(1);
        }
    }

    private static string? LatestName(RunFolder folder)
    {
        try
        {
            return File.Exists(folder.LatestPath) ? File.ReadAllText(folder.LatestPath).Trim() : null;
        }
        catch (IOException)
        {
            return null; // replaced while read
        }
    }

    /// <summary>What checkpoint writes left half done: temporary checkpoint folders and <c>latest.tmp-*</c> files.</summary>
    private static HashSet<string> Debris(RunFolder folder) =>
        Directory.Exists(folder.CheckpointsPath)
            ? Directory.GetFileSystemEntries(folder.CheckpointsPath, ".tmp-*").Concat(Directory.GetFiles(folder.CheckpointsPath, RunFolder.LatestFileName + ".tmp-*")).ToHashSet()
            : [];

    /// <summary>
    /// The checkpoint <c>latest</c> names (null before the first one), checked to be complete; every folder named like a
    /// checkpoint is checked too, so no half-written folder passes for one.
    /// </summary>
    private static (string Path, long Steps)? VerifyLatest(RunFolder folder, int kill)
    {
        if (Directory.Exists(folder.CheckpointsPath))
        {
            foreach (string checkpoint in Directory.GetDirectories(folder.CheckpointsPath, RunFolder.EpochCheckpointPattern)
                         .Concat(Directory.GetDirectories(folder.CheckpointsPath, RunFolder.InterruptedCheckpointPattern)))
                Steps(checkpoint, kill);
        }
        if (!File.Exists(folder.LatestPath)) return null;
        string name = File.ReadAllText(folder.LatestPath).Trim();
        Assert.IsTrue(CheckpointName().IsMatch(name), $"kill {kill}: latest names '{name}'");
        string path = folder.CheckpointPath(name);
        return (path, Steps(path, kill));
    }

    /// <summary>Reads a checkpoint as resuming does (the library's safetensors reader checks header, offsets and length); returns its step.</summary>
    private static long Steps(string checkpoint, int kill)
    {
        Assert.IsTrue(Directory.Exists(checkpoint), $"kill {kill}: {checkpoint} is missing");
        foreach (string file in new[] { RunFolder.WeightsFileName, RunFolder.CheckpointOptimizerFileName })
        {
            var tensors = SafeTensorsFile.Read(Path.Combine(checkpoint, file));
            Assert.IsTrue(tensors.Entries.Any(), $"kill {kill}: {file} of {checkpoint} is empty");
        }
        using var state = JsonDocument.Parse(File.ReadAllText(Path.Combine(checkpoint, RunFolder.CheckpointStateFileName)));
        return state.RootElement.GetProperty("GlobalStep").GetInt64();
    }

    [GeneratedRegex(@"^(epoch-\d{4}|interrupted-e\d{4}-b\d{5})$")]
    private static partial Regex CheckpointName();
}
