using EfficientNet.Training.Training;
using Microsoft.ML.EfficientNet.IO;

namespace EfficientNet.Training.Tests.Training;

/// <summary><see cref="CheckpointStore.Latest"/> on run folders a killed run can leave behind, built by hand.</summary>
[TestClass]
public sealed class CheckpointStoreTests
{
    /// <summary>A checkpoint folder with a <c>state.json</c> of <paramref name="steps"/> steps (or the given text).</summary>
    private static string Checkpoint(RunFolder run, string name, long steps, string? state = null)
    {
        string folder = Path.Combine(run.CheckpointsPath, name);
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, RunFolder.CheckpointStateFileName), state ?? $"{{ \"GlobalStep\": {steps} }}");
        return folder;
    }

    [TestMethod]
    public void WhenLatestNamesAFolderThatIsGoneTheCompleteCheckpointWithTheMostStepsIsTaken()
    {
        using var dir = new TemporaryDirectory();
        var run = new RunFolder(Path.Combine(dir.Path, "run"));
        var store = new CheckpointStore(run, keep: 2);
        Assert.IsNull(store.Latest(), "no latest file: no checkpoint");

        // A run that had epochs 1 and 2, was interrupted in epoch 3 at step 10, resumed from that checkpoint and was
        // killed while replacing a checkpoint of the same name: latest names it, and it is gone.
        Checkpoint(run, "epoch-0001", 4);
        string second = Checkpoint(run, "epoch-0002", 8);
        Checkpoint(run, "interrupted-e0002-b00001", 5); // an older interrupted checkpoint, fewer steps
        File.WriteAllText(run.LatestPath, "interrupted-e0002-b00002\n");
        // Not complete checkpoints, whatever their steps: a folder without state.json, one whose state.json is damaged,
        // and a temporary folder of a write that never finished.
        Directory.CreateDirectory(Path.Combine(run.CheckpointsPath, "epoch-0003"));
        Checkpoint(run, "interrupted-e0003-b00001", 0, state: "{ \"GlobalStep\": 1");
        Checkpoint(run, CheckpointStore.TemporaryPrefix + "interrupted-e0002-b00002-abc123", 10);

        Assert.AreEqual(second, store.Latest(), "the complete checkpoint with the most steps");

        // An interrupted checkpoint with more steps than the last epoch's wins over it.
        string interrupted = Checkpoint(run, "interrupted-e0002-b00003", 11);
        Assert.AreEqual(interrupted, store.Latest());

        // When the folder latest names exists, it is taken, even with fewer steps.
        File.WriteAllText(run.LatestPath, "epoch-0001");
        Assert.AreEqual(Path.Combine(run.CheckpointsPath, "epoch-0001"), store.Latest());
    }
}
