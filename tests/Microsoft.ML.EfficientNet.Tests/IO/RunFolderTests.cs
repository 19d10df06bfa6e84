using Microsoft.ML.EfficientNet.IO;

namespace Microsoft.ML.EfficientNet.Tests.IO;

[TestClass]
public sealed class RunFolderTests
{
    [TestMethod]
    public void NamesEveryFileOfARun()
    {
        var run = new RunFolder("/runs/fashion");
        Assert.AreEqual("/runs/fashion/model.onnx", run.ModelPath);
        Assert.AreEqual("/runs/fashion/model.safetensors", run.WeightsPath);
        Assert.AreEqual("/runs/fashion/best.safetensors", run.BestWeightsPath);
        Assert.AreEqual("/runs/fashion/labels.txt", run.LabelsPath);
        Assert.AreEqual("/runs/fashion/training.json", run.SummaryPath);
        Assert.AreEqual("/runs/fashion/checkpoints/latest", run.LatestPath);
        Assert.AreEqual("/runs/fashion/checkpoints/epoch-0003", run.CheckpointPath(RunFolder.EpochCheckpointName(3)));
        Assert.AreEqual("interrupted-e0002-b00005", RunFolder.InterruptedCheckpointName(2, 5));
    }

    [TestMethod]
    public void EpochCheckpointNamesSortInEpochOrder()
    {
        var names = new[] { 10, 2, 100, 1 }.Select(RunFolder.EpochCheckpointName).Order(StringComparer.Ordinal).ToArray();
        CollectionAssert.AreEqual(new[] { "epoch-0001", "epoch-0002", "epoch-0010", "epoch-0100" }, names);
    }

    [TestMethod]
    public void AFolderMeansItsModelAFileItself()
    {
        using var dir = new TemporaryDirectory();
        Assert.AreEqual(Path.Combine(dir.Path, "model.onnx"), RunFolder.ModelPathOf(dir.Path));
        string file = Path.Combine(dir.Path, "exported.onnx");
        Assert.AreEqual(file, RunFolder.ModelPathOf(file));
    }
}
