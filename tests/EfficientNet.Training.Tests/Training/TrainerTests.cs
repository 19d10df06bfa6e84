using EfficientNet.Training.Modules;
using EfficientNet.Training.Optimizers;
using EfficientNet.Training.Training;
using EfficientNet.Training.Weights;
using Microsoft.Extensions.Logging;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Data;
using Microsoft.ML.EfficientNet.IO;
using Microsoft.ML.EfficientNet.Onnx;
using Microsoft.ML.EfficientNet.Preprocessing;
using Microsoft.ML.EfficientNet.Weights;
using static TorchSharp.torch;

namespace EfficientNet.Training.Tests.Training;

/// <summary>Training runs on tiny real subsets of Fashion-MNIST at 32 px (seconds each).</summary>
[TestClass]
public sealed class TrainerTests
{
    public TestContext TestContext { get; set; } = null!;

    // Trouser (1) vs Bag (8): two clearly different classes.
    private static readonly int[] TwoClasses = [1, 8];
    private static readonly Lazy<LabeledImageSet> Train = new(() => new FashionMnistImageSet(true, TwoClasses).TakePerClass(96));
    private static readonly Lazy<LabeledImageSet> Test = new(() => new FashionMnistImageSet(false, TwoClasses).TakePerClass(100));

    private static EfficientNetTrainingOptions Small(string output, int epochs = 2) => new()
    {
        InitialWeights = null, // from scratch
        Epochs = epochs,
        BatchSize = 16,
        ImageSize = 32,
        Recipe = new PreprocessingRecipe(32, 32, new RgbValues(0.286f, 0.286f, 0.286f), new RgbValues(0.353f, 0.353f, 0.353f), ResizeInterpolation.Bilinear),
        Augmentation = AugmentationPreset.Shift,
        LearningRate = 3e-3,
        ValidationFraction = 0,
        OutputDirectory = output,
        Seed = 7,
        LogEverySteps = 0,
    };

    /// <summary>One epoch starting from the torchvision B0 fixture (ImageNet statistics, no crop).</summary>
    private static EfficientNetTrainingOptions FromTorchvisionFixture(string output)
    {
        var options = Small(output, epochs: 1);
        options.InitialWeights = Fixtures.Generated("b0.torchvision.pth");
        options.Recipe = PreprocessingRecipe.Centered(32, 1.0);
        return options;
    }

    private static float[] Weights(string file) => SafeTensorsFile.Read(file).Entries.SelectMany(e => e.Value.Values).ToArray();

    [TestMethod]
    public void LearnsTwoFashionMnistClassesAndExportsAModel()
    {
        // From scratch, batch-norm running statistics need about a hundred steps before evaluation-mode accuracy is
        // meaningful (with fewer the network predicts one class): 2 × 400 images, batch 16, 3 epochs. Two epochs reached
        // 90 % on one CPU and 89.5 % on another (AVX-512 vs AVX2 kernels round differently); the third gives a margin.
        const int epochs = 3;
        using var dir = new TemporaryDirectory();
        var options = Small(dir.Path, epochs);
        var events = new List<TrainingEvent>();
        options.Progress = events.Add;
        var result = EfficientNetTrainer.Train(options, new FashionMnistImageSet(true, TwoClasses).TakePerClass(400), Test.Value);
        TestContext.WriteLine(string.Join("\n", result.History.Select(h => $"epoch {h.Epoch + 1}: train {h.TrainAccuracy:P1} test {h.ValidationAccuracy:P1}")));
        Assert.AreEqual(TrainingStatus.Completed, result.Status, result.Message);
        Assert.AreEqual(epochs, result.History.Count);
        Assert.IsTrue(result.BestAccuracy >= 0.9, $"test accuracy {result.BestAccuracy:P1}");
        // 100 test images per class: the majority-class rate is 50 %, far below the accuracy's interval.
        Assert.AreEqual(0.5, result.Chance!.ChanceAccuracy, 1e-12);
        Assert.IsTrue(result.Chance.AboveChance && !result.Chance.AtChance, $"{result.Chance}");
        Assert.IsNull(result.ChanceWarning);
        Assert.IsTrue(result.History.All(h => double.IsNaN(h.ValidationTop5)), "two classes: no top-5");
        CollectionAssert.AreEqual(new[] { "Trouser", "Bag" }, result.Classes.ToArray());
        Assert.AreEqual(epochs * 50, events.OfType<StepCompleted>().Count());
        var last = events.OfType<StepCompleted>().Last();
        Assert.IsTrue(last.ImagesPerSecond > 0 && last.LearningRate > 0);
        Assert.AreEqual(epochs, events.OfType<EpochCompleted>().Count());
        var metadata = OnnxModelMetadata.Read(result.OnnxPath!);
        CollectionAssert.AreEqual(new[] { "Trouser", "Bag" }, metadata.Labels!.ToArray());
        Assert.AreEqual(32, metadata.Resolution);
        Assert.AreEqual(new RgbValues(0.286f, 0.286f, 0.286f), metadata.Preprocessing.Mean);
    }

    /// <summary>
    /// No finalizer frees a tensor or scalar libtorch still reads (the crash class met in training,
    /// where TorchSharp's finalizers ran during libtorch calls). Another thread forces full, blocking collections and
    /// waits for finalizers as fast as it can during a whole training run; a premature free would crash the test host
    /// or corrupt the numbers.
    /// </summary>
    [TestMethod]
    public void TrainingSurvivesAGarbageCollectionStormFromAnotherThread()
    {
        using var dir = new TemporaryDirectory();
        using var stop = new CancellationTokenSource();
        int collections = 0;
        var storm = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                GC.Collect(2, GCCollectionMode.Forced, blocking: true);
                GC.WaitForPendingFinalizers();
                collections++;
                Thread.Sleep(2);
            }
        }) { IsBackground = true };
        storm.Start();
        TrainingResult result;
        try
        {
            result = EfficientNetTrainer.Train(Small(dir.Path), Train.Value, Test.Value);
        }
        finally
        {
            stop.Cancel();
            storm.Join();
        }
        TestContext.WriteLine($"{collections} forced full collections during {result.History.Count} epochs; losses {string.Join(", ", result.History.Select(h => h.TrainLoss.ToString("F4", System.Globalization.CultureInfo.InvariantCulture)))}");
        Assert.AreEqual(TrainingStatus.Completed, result.Status, result.Message);
        Assert.IsTrue(collections >= 50, $"{collections} collections");
        Assert.IsTrue(File.Exists(result.OnnxPath));
        // The same seeded run without the storm gives the same numbers: nothing was freed early or read after a free.
        using var calmDir = new TemporaryDirectory();
        var calm = EfficientNetTrainer.Train(Small(calmDir.Path), Train.Value, Test.Value);
        CollectionAssert.AreEqual(calm.History.Select(h => (h.TrainLoss, h.ValidationLoss, h.ValidationAccuracy)).ToList(),
            result.History.Select(h => (h.TrainLoss, h.ValidationLoss, h.ValidationAccuracy)).ToList());
    }

    [TestMethod]
    public void FineTunesV2SFromTheTorchvisionFixtureAndExportsIt()
    {
        // The V2 name goes through the same trainer: torchvision V2-S weights (eps 1e-3), a new 2-class classifier,
        // one epoch at 32 px, then the exported ONNX model must equal the trained TorchSharp model.
        using var dir = new TemporaryDirectory();
        var options = Small(dir.Path, epochs: 1);
        options.Variant = "v2-s";
        options.InitialWeights = Fixtures.Generated("v2-s.torchvision.pth");
        options.Recipe = PreprocessingRecipe.Centered(32, 1.0);
        var result = EfficientNetTrainer.Train(options, Train.Value, Test.Value);
        Assert.AreEqual(TrainingStatus.Completed, result.Status, result.Message);
        Assert.IsTrue(result.History.All(h => double.IsFinite(h.TrainLoss)));
        var metadata = OnnxModelMetadata.Read(result.OnnxPath!);
        Assert.AreEqual("v2-s", metadata.Variant);
        Assert.AreEqual(1280, metadata.FeatureWidth);
        using var model = ModelWeights.CreateModel(result.Weights!);
        model.eval();
        Assert.AreEqual(EfficientNetSpec.Create("v2-s", 2).ParameterCount, model.ParameterCount);
        Assert.AreEqual(1e-3, result.Weights!.Source.BatchNormEpsilon);
        AssertExportEqualsModel(result, model, "trained V2-S");
    }

    /// <summary>Three test images through the trained TorchSharp model and through the exported ONNX file: the same logits.</summary>
    private static void AssertExportEqualsModel(TrainingResult result, EfficientNetModel model, string what)
    {
        var images = Test.Value.Subset([0, 1, 150]);
        var normalized = new EvaluationBatches(images, result.Recipe, 8).All().Single();
        var raw = new EvaluationBatches(images, result.Recipe, 8, normalize: false).All().Single();
        float[] torchLogits;
        using (no_grad()) torchLogits = model.forward(tensor(normalized.Pixels.AsSpan(0, 3 * 3 * 32 * 32).ToArray(), [3, 3, 32, 32])).data<float>().ToArray();
        var onnx = OnnxRunner.Run(File.ReadAllBytes(result.OnnxPath!), OnnxExportOptions.ImageInputName, raw.Pixels.AsSpan(0, 3 * 3 * 32 * 32).ToArray(), [3, 3, 32, 32]);
        Parity.AssertClose(torchLogits, onnx[OnnxExportOptions.LogitsOutputName], what + ": TorchSharp vs exported ONNX");
    }

    [TestMethod]
    public void FineTunesLite0FromTheTimmFixtureAndExportsIt()
    {
        // Lite through the same trainer: timm efficientnet_lite0 weights (timm names, symmetric padding, eps 1e-5), a new
        // 2-class classifier, one epoch at 32 px; the network trains with ReLU6 and no squeeze-and-excitation, and the
        // exported ONNX model (ReLU6 as Clip) equals the trained TorchSharp model.
        using var dir = new TemporaryDirectory();
        var options = Small(dir.Path, epochs: 1);
        options.Variant = "lite0";
        options.InitialWeights = Fixtures.Generated("lite0.timm.pth");
        options.Recipe = PreprocessingRecipe.Centered(32, 1.0);
        var result = EfficientNetTrainer.Train(options, Train.Value, Test.Value);
        Assert.AreEqual(TrainingStatus.Completed, result.Status, result.Message);
        Assert.IsTrue(result.History.All(h => double.IsFinite(h.TrainLoss)));
        Assert.AreEqual("lite0", OnnxModelMetadata.Read(result.OnnxPath!).Variant);
        using var model = ModelWeights.CreateModel(result.Weights!);
        model.eval();
        Assert.AreEqual(EfficientNetSpec.Create("lite0", 2).ParameterCount, model.ParameterCount);
        Assert.IsTrue(model.modules().OfType<TorchSharp.Modules.ReLU6>().Any(), "ReLU6 modules");
        Assert.IsFalse(model.modules().Any(m => m is TorchSharp.Modules.SiLU or MemoryEfficientSiLU or SqueezeExcitation), "no SiLU, no SE");
        var graph = global::Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(result.OnnxPath!)).Graph;
        // Stem 1, the expand-free first block 1 (depthwise), 15 blocks × 2 (expand, depthwise), head 1.
        Assert.AreEqual(33, graph.Node.Count(n => n.OpType == "Clip"), "one Clip per activated unit");
        Assert.IsFalse(graph.Node.Any(n => n.OpType == "Sigmoid"));
        AssertExportEqualsModel(result, model, "trained Lite0");
    }

    [TestMethod]
    public void ExportedModelSeesExactlyWhatValidationSaw()
    {
        // No train/serve skew: the TorchSharp model on the evaluation batches and ONNX Runtime on the raw pixels of the
        // same images (preprocessing inside the graph) give the same logits.
        using var dir = new TemporaryDirectory();
        var result = EfficientNetTrainer.Train(Small(dir.Path, epochs: 1), Train.Value, Test.Value);
        using var model = ModelWeights.CreateModel(result.Weights!);
        model.eval();
        var images = Test.Value.Subset([0, 1, 2, 150, 151]);
        var normalized = new EvaluationBatches(images, result.Recipe, 8).All().Single();
        var raw = new EvaluationBatches(images, result.Recipe, 8, normalize: false).All().Single();
        float[] torchLogits;
        using (no_grad()) torchLogits = model.forward(tensor(normalized.Pixels.AsSpan(0, 5 * 3 * 32 * 32).ToArray(), [5, 3, 32, 32])).data<float>().ToArray();
        var onnx = OnnxRunner.Run(File.ReadAllBytes(result.OnnxPath!), OnnxExportOptions.ImageInputName, raw.Pixels.AsSpan(0, 5 * 3 * 32 * 32).ToArray(), [5, 3, 32, 32]);
        Parity.AssertClose(torchLogits, onnx[OnnxExportOptions.LogitsOutputName], "TorchSharp on evaluation batches vs exported ONNX on raw pixels");
    }

    [TestMethod]
    public void ResumingAfterACrashEndsWithTheSameWeights()
    {
        using var straight = new TemporaryDirectory();
        var reference = EfficientNetTrainer.Train(Small(straight.Path), Train.Value);

        using var crashed = new TemporaryDirectory();
        var options = Small(crashed.Path);
        options.Progress = e => { if (e is StepCompleted { Epoch: 1, Step: 3 }) throw new IOException("simulated crash"); };
        Assert.ThrowsExactly<IOException>(() => EfficientNetTrainer.Train(options, Train.Value));
        Assert.IsTrue(Directory.Exists(Path.Combine(crashed.Path, "checkpoints", "epoch-0001")));
        Assert.IsFalse(Directory.Exists(Path.Combine(crashed.Path, "checkpoints", "epoch-0002")));

        var resumed = EfficientNetTrainer.Train(Small(crashed.Path), Train.Value);
        Assert.AreEqual(2, resumed.History.Count);
        double diff = Parity.MaxAbsDiff(Weights(reference.WeightsPath!), Weights(resumed.WeightsPath!));
        TestContext.WriteLine($"max |Δ| between uninterrupted and resumed weights: {diff:E2}");
        Assert.AreEqual(0.0, diff, "libtorch on the CPU is deterministic here, so the resumed run is bit-identical");
    }

    [TestMethod]
    public void CancellingSavesAStepAndResumesFromIt()
    {
        using var straight = new TemporaryDirectory();
        var reference = EfficientNetTrainer.Train(Small(straight.Path), Train.Value);

        using var cancelled = new TemporaryDirectory();
        using var cancel = new CancellationTokenSource();
        var options = Small(cancelled.Path);
        options.Progress = e => { if (e is StepCompleted { Epoch: 0, Step: 5 }) cancel.Cancel(); };
        var first = EfficientNetTrainer.Train(options, Train.Value, cancellationToken: cancel.Token);
        Assert.AreEqual(TrainingStatus.Cancelled, first.Status);
        StringAssert.Contains(first.Message, "resume");
        Assert.IsTrue(Directory.Exists(Path.Combine(cancelled.Path, "checkpoints", "interrupted-e0001-b00005")));

        var resumed = EfficientNetTrainer.Train(Small(cancelled.Path), Train.Value);
        Assert.AreEqual(TrainingStatus.Completed, resumed.Status);
        Assert.AreEqual(0.0, Parity.MaxAbsDiff(Weights(reference.WeightsPath!), Weights(resumed.WeightsPath!)));
    }

    [TestMethod]
    public void CancellingBetweenEpochsSavesAndStops()
    {
        // Ctrl+C during an epoch's evaluation: the next epoch starts with cancellation already requested. (This once
        // left the data loader's producer unstarted and the run waiting for a batch forever.)
        using var dir = new TemporaryDirectory();
        using var cancel = new CancellationTokenSource();
        var options = Small(dir.Path, epochs: 3);
        options.Progress = e => { if (e is EpochCompleted { Epoch: 0 }) cancel.Cancel(); };
        var task = Task.Run(() => EfficientNetTrainer.Train(options, Train.Value, cancellationToken: cancel.Token));
        Assert.IsTrue(task.Wait(TimeSpan.FromMinutes(3)), "the run did not stop");
        Assert.AreEqual(TrainingStatus.Cancelled, task.Result.Status, task.Result.Message);
        Assert.IsTrue(Directory.Exists(Path.Combine(dir.Path, "checkpoints", "interrupted-e0002-b00000")));
    }

    [TestMethod]
    public void ADivergingRunStopsAndKeepsTheLastGoodCheckpoint()
    {
        using var dir = new TemporaryDirectory();
        EfficientNetTrainer.Train(Small(dir.Path, epochs: 1), Train.Value);
        string good = Path.Combine(dir.Path, "checkpoints", "epoch-0001");
        var before = File.ReadAllBytes(Path.Combine(good, "model.safetensors"));
        var options = Small(dir.Path, epochs: 2);
        options.LearningRate = 1e12;
        options.Schedule = ScheduleKind.Constant;
        var result = EfficientNetTrainer.Train(options, Train.Value);
        Assert.AreEqual(TrainingStatus.Diverged, result.Status);
        StringAssert.Contains(result.Message, "epoch 2");
        StringAssert.Contains(result.Message, good);
        Assert.AreEqual("epoch-0001", File.ReadAllText(Path.Combine(dir.Path, "checkpoints", "latest")).Trim());
        Assert.AreEqual(good, new CheckpointStore(new RunFolder(dir.Path), keep: 1).Latest(), "the store resumes from the last good checkpoint");
        CollectionAssert.AreEqual(before, File.ReadAllBytes(Path.Combine(good, "model.safetensors")));
    }

    [TestMethod]
    public void AFullDiskWhileWritingACheckpointStopsTheRunNamingTheFileAndKeepsThePreviousOne()
    {
        using var dir = new TemporaryDirectory();
        string checkpoints = Path.Combine(dir.Path, "checkpoints");
        // The disk fills up in the middle of epoch 2's checkpoint: its optimiser state gets 1 MB of its 32 MB, then ENOSPC.
        AtomicFile.WriteFilterForTests = (path, stream) =>
            path.Contains("epoch-0002", StringComparison.Ordinal) && path.EndsWith("optimizer.safetensors", StringComparison.Ordinal)
                ? new FullDiskStream(stream, path, 1 << 20) : stream;
        IOException error;
        try
        {
            error = Assert.ThrowsExactly<IOException>(() => EfficientNetTrainer.Train(Small(dir.Path, epochs: 3), Train.Value));
        }
        finally
        {
            AtomicFile.WriteFilterForTests = null;
        }
        TestContext.WriteLine(error.Message);
        StringAssert.Contains(error.Message, "No space left on device");
        StringAssert.Contains(error.Message, Path.Combine(checkpoints, "epoch-0002"));
        StringAssert.Contains(error.Message, "optimizer.safetensors");
        StringAssert.Contains(error.Message, $"The previous checkpoint {Path.Combine(checkpoints, "epoch-0001")} is kept as the latest");
        Assert.AreEqual(FullDiskStream.NoSpace, error.InnerException!.HResult);
        Assert.AreEqual("epoch-0001", File.ReadAllText(Path.Combine(checkpoints, "latest")).Trim());
        // Nothing half-written is left: no epoch-0002, no temporary folder or file.
        CollectionAssert.AreEqual(new[] { "epoch-0001", "latest" }, Directory.GetFileSystemEntries(checkpoints).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray());
        Assert.AreEqual(0, Directory.GetFiles(dir.Path, "*.tmp-*", SearchOption.AllDirectories).Length);

        // The disk has room again: the rerun resumes from epoch 1 (two epochs left) and completes.
        var events = new List<TrainingEvent>();
        var options = Small(dir.Path, epochs: 3);
        options.Progress = events.Add;
        var resumed = EfficientNetTrainer.Train(options, Train.Value);
        Assert.AreEqual(TrainingStatus.Completed, resumed.Status, resumed.Message);
        CollectionAssert.AreEqual(new[] { 1, 2 }, events.OfType<EpochCompleted>().Select(e => e.Epoch).ToArray());
        Assert.IsTrue(File.Exists(Path.Combine(dir.Path, "model.onnx")));
    }

    [TestMethod]
    public void LinearProbeChangesOnlyTheClassifier()
    {
        using var dir = new TemporaryDirectory();
        var options = FromTorchvisionFixture(dir.Path);
        options.Mode = TrainingMode.LinearProbe;
        var result = EfficientNetTrainer.Train(options, Train.Value);
        var start = EfficientNetCheckpoint.Load(Fixtures.Generated("b0.torchvision.pth"), EfficientNetVariant.B0, new() { NumClasses = 2, ReplaceHead = true }).Weights;
        var end = result.Weights!.Weights;
        foreach (var (key, tensor) in start.Entries)
        {
            if (key.EndsWith("num_batches_tracked", StringComparison.Ordinal)) continue;
            CollectionAssert.AreEqual(tensor.Values, end[key].Values, $"{key} must stay frozen (weights and batch-norm statistics)");
        }
        Assert.AreEqual(2, end["classifier.1.weight"].Shape[0]);
    }

    [TestMethod]
    public void TransferGetsANewSmallClassifierUnlessTheOldOneIsKept()
    {
        using var dir = new TemporaryDirectory();
        manual_seed(3);
        using var source = new EfficientNetModel(EfficientNetSpec.Create(EfficientNetVariant.B0, numClasses: 2));
        var sourceWeights = ModelWeights.ToStateDict(source);
        string file = Path.Combine(dir.Path, "two-classes.safetensors");
        SafeTensorsFile.Write(file, sourceWeights.Entries);
        float[] Classifier(bool keep)
        {
            var options = Small(Path.Combine(dir.Path, keep ? "kept" : "new"), epochs: 1);
            options.InitialWeights = file;
            options.KeepClassifier = keep;
            options.Mode = TrainingMode.LinearProbe;
            options.LearningRate = 1e-12; // one epoch that moves nothing measurably: the classifier as it started
            options.WeightDecay = 0;
            return EfficientNetTrainer.Train(options, Train.Value).Weights!.Weights["classifier.1.weight"].Values;
        }
        float[] old = sourceWeights["classifier.1.weight"].Values;

        float[] kept = Classifier(keep: true);
        Assert.AreEqual(0, kept.Zip(old, (a, b) => Math.Abs(a - b)).Max(), 1e-6, "--keep-classifier keeps the source classifier");

        // A new classifier starts as PyTorch's nn.Linear: uniform in ±1/√1280, not torchvision's ±1/√classes (±0.71 here).
        float[] fresh = Classifier(keep: false);
        double bound = 1 / Math.Sqrt(1280);
        Assert.IsTrue(fresh.Max(Math.Abs) <= bound * 1.0001, $"max |w| {fresh.Max(Math.Abs)} > {bound}");
        Assert.IsTrue(fresh.Max(Math.Abs) > bound * 0.9, "spread over the whole range");
        Assert.IsTrue(fresh.Zip(old, (a, b) => Math.Abs(a - b)).Max() > 0.1, "not the source classifier");
    }

    [TestMethod]
    public void LastStagesTrainsOnlyTheTrailingUnits()
    {
        using var dir = new TemporaryDirectory();
        var options = FromTorchvisionFixture(dir.Path);
        options.Mode = TrainingMode.LastStages;
        options.TrainableStages = 2; // features.8 (head conv) and features.7
        var end = EfficientNetTrainer.Train(options, Train.Value).Weights!.Weights;
        var start = StateDict.Load(Fixtures.Generated("b0.torchvision.pth"));
        Assert.IsTrue(start["features.6.0.block.0.0.weight"].Values.SequenceEqual(end["features.6.0.block.0.0.weight"].Values), "stage 6 frozen");
        Assert.IsTrue(start["features.6.0.block.0.1.running_mean"].Values.SequenceEqual(end["features.6.0.block.0.1.running_mean"].Values), "stage 6 statistics frozen");
        Assert.IsFalse(start["features.7.0.block.0.0.weight"].Values.SequenceEqual(end["features.7.0.block.0.0.weight"].Values), "stage 7 trained");
        Assert.IsFalse(start["features.8.0.weight"].Values.SequenceEqual(end["features.8.0.weight"].Values), "head conv trained");
    }

    [TestMethod]
    public void BackboneAndHeadHaveTheirOwnLearningRates()
    {
        using var dir = new TemporaryDirectory();
        var options = FromTorchvisionFixture(dir.Path);
        options.BackboneLearningRate = 0;
        options.WeightDecay = 0;
        var end = EfficientNetTrainer.Train(options, Train.Value).Weights!.Weights;
        var start = StateDict.Load(Fixtures.Generated("b0.torchvision.pth"));
        Assert.IsTrue(start["features.3.1.block.1.0.weight"].Values.SequenceEqual(end["features.3.1.block.1.0.weight"].Values), "backbone rate 0: weights unchanged");
        Assert.IsFalse(start["features.3.1.block.1.1.running_var"].Values.SequenceEqual(end["features.3.1.block.1.1.running_var"].Values), "statistics still adapt");
    }

    [TestMethod]
    public void NormAndBiasAreNotDecayedByDefault()
    {
        using var model = new EfficientNetModel(EfficientNetSpec.Create(EfficientNetVariant.B0, numClasses: 3));
        var groups = EfficientNetTrainer.ParameterGroups(model, new EfficientNetTrainingOptions { WeightDecay = 0.05, LearningRate = 1e-2, BackboneLearningRate = 1e-3 }, fromTrainedWeights: true);
        CollectionAssert.AreEqual(new[] { "backbone", "backbone (no decay)", "head", "head (no decay)" }, groups.Select(g => g.Name).ToArray());
        Assert.IsTrue(groups.Where(g => g.WeightDecay > 0).SelectMany(g => g.Parameters).All(p => p.Parameter.dim() > 1));
        Assert.IsTrue(groups.Single(g => g.Name == "backbone (no decay)").Parameters.Any(p => p.Name == "features.0.1.weight"));
        Assert.AreEqual(0.1, groups[0].LearningRateScale, 1e-12);
        Assert.AreEqual(model.parameters().Count(), groups.Sum(g => g.Parameters.Count));
        var all = EfficientNetTrainer.ParameterGroups(model, new EfficientNetTrainingOptions { DecayNormAndBias = true }, fromTrainedWeights: false);
        Assert.IsTrue(all.All(g => g.WeightDecay > 0));
    }

    [TestMethod]
    public void EmaWeightsAreEvaluatedAndExported()
    {
        using var dir = new TemporaryDirectory();
        var options = Small(dir.Path, epochs: 1);
        options.EmaDecay = 0.9;
        var result = EfficientNetTrainer.Train(options, Train.Value, Test.Value);
        string checkpoint = Path.Combine(dir.Path, "checkpoints", "epoch-0001");
        var ema = Weights(Path.Combine(checkpoint, "ema.safetensors"));
        var raw = Weights(Path.Combine(checkpoint, "model.safetensors"));
        Assert.IsTrue(Parity.MaxAbsDiff(ema, raw) > 1e-4, "the average differs from the last weights");
        CollectionAssert.AreEqual(ema, Weights(result.WeightsPath!), "the exported weights are the EMA");
    }

    [TestMethod]
    public void EarlyStoppingEndsARunThatStopsImproving()
    {
        using var dir = new TemporaryDirectory();
        var options = Small(dir.Path, epochs: 6);
        options.LearningRate = 1e-9;
        options.Schedule = ScheduleKind.Constant;
        options.EarlyStoppingPatience = 1;
        var logger = new ListLogger();
        options.Logger = logger;
        var result = EfficientNetTrainer.Train(options, Train.Value, Test.Value);
        Assert.AreEqual(TrainingStatus.EarlyStopped, result.Status, result.Message);
        Assert.IsTrue(result.History.Count < 6);
        StringAssert.Contains(result.Message, "did not improve for 1 epochs");

        // The kept epoch, found here without the trainer's rule: the highest accuracy, then the lowest loss, then the
        // latest. Its checkpoint's weights are the ones exported.
        double top = result.History.Max(h => h.ValidationAccuracy);
        var tied = result.History.Where(h => h.ValidationAccuracy == top).ToList();
        double lowest = tied.Min(h => h.ValidationLoss);
        int expected = tied.Where(h => h.ValidationLoss == lowest).Max(h => h.Epoch);
        Assert.AreEqual(expected, result.BestEpoch);
        Assert.AreEqual(expected, result.KeptEpoch);
        CollectionAssert.AreEqual(Weights(Path.Combine(dir.Path, "checkpoints", RunFolder.EpochCheckpointName(expected + 1), "model.safetensors")), Weights(result.WeightsPath!));

        // A learning rate of 1e-9 learns nothing: one class takes the predictions, and the run says so after each
        // validation and at the end, with the numbers and the cause.
        Assert.IsTrue(result.Chance!.AtChance, $"{result.Chance}");
        StringAssert.StartsWith(result.ChanceWarning, "At chance: ");
        StringAssert.Contains(result.ChanceWarning, "majority-class rate 50.00 %");
        StringAssert.Contains(result.ChanceWarning, "training from scratch on 192 images");
        StringAssert.Contains(result.ChanceWarning, "learning rate 1E-09");
        var warnings = logger.Entries.Where(e => e.Level == LogLevel.Warning && e.Message.Contains("At chance: ", StringComparison.Ordinal)).ToList();
        Assert.AreEqual(result.History.Count + 1, warnings.Count, string.Join("\n", logger.Entries));
        StringAssert.StartsWith(warnings[^1].Message, $"The exported model (epoch {expected + 1}): At chance: ");
        using var summary = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.Path, RunFolder.SummaryFileName)));
        Assert.AreEqual(0.5, summary.RootElement.GetProperty("chance_accuracy").GetDouble(), 1e-12);
        Assert.AreEqual(result.Chance.AboveChance, summary.RootElement.GetProperty("above_chance").GetBoolean());
        Assert.AreEqual(result.Chance.Collapsed, summary.RootElement.GetProperty("collapsed").GetBoolean());
    }

    [TestMethod]
    public void ATieInValidationAccuracyGoesToTheLowerLossThenToTheLaterEpoch()
    {
        static EpochMetrics E(int epoch, double accuracy, double loss) => new(epoch, 1.0, 0.5, loss, accuracy, double.NaN, 1e-3, 1);
        Assert.IsTrue(EfficientNetTrainer.Outranks(E(0, 0.5, 0.7), null), "the first epoch is the best so far");
        Assert.IsTrue(EfficientNetTrainer.Outranks(E(1, 0.6, 0.9), E(0, 0.5, 0.7)), "higher accuracy wins, whatever the loss");
        Assert.IsFalse(EfficientNetTrainer.Outranks(E(1, 0.4, 0.1), E(0, 0.5, 0.7)), "lower accuracy loses, whatever the loss");
        Assert.IsTrue(EfficientNetTrainer.Outranks(E(1, 0.5, 0.6), E(0, 0.5, 0.7)), "tie: the lower loss wins");
        Assert.IsFalse(EfficientNetTrainer.Outranks(E(1, 0.5, 0.8), E(0, 0.5, 0.7)), "tie: the higher loss loses");
        Assert.IsTrue(EfficientNetTrainer.Outranks(E(2, 0.5, 0.7), E(1, 0.5, 0.7)), "tie in both: the later epoch wins");
        Assert.IsFalse(EfficientNetTrainer.Outranks(E(1, 0.5, double.NaN), E(0, 0.5, 0.7)), "a NaN loss never wins a tie");
        Assert.IsTrue(EfficientNetTrainer.Outranks(E(1, 0.5, 0.7), E(0, 0.5, double.NaN)), "a finite loss beats a NaN one");
    }

    [TestMethod]
    public void KeepLastExportsTheLastEpochAndAResumeKeepsTheSameRule()
    {
        using var dir = new TemporaryDirectory();
        var options = Small(dir.Path, epochs: 2);
        options.KeepModel = KeptModel.Last;
        var result = EfficientNetTrainer.Train(options, Train.Value, Test.Value);
        Assert.AreEqual(1, result.KeptEpoch);
        CollectionAssert.AreEqual(Weights(Path.Combine(dir.Path, "checkpoints", "epoch-0002", "model.safetensors")), Weights(result.WeightsPath!));
        using (var summary = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.Path, RunFolder.SummaryFileName))))
        {
            Assert.AreEqual("last", summary.RootElement.GetProperty("keep").GetString());
            Assert.AreEqual(2, summary.RootElement.GetProperty("keptEpoch").GetInt32());
        }

        // The epochs done kept the last weights; resuming under the other rule would mix the two, so it is refused.
        var best = Small(dir.Path, epochs: 3);
        var error = Assert.ThrowsExactly<InvalidOperationException>(() => EfficientNetTrainer.Train(best, Train.Value, Test.Value));
        StringAssert.Contains(error.Message, "Resume with --keep last");
        var more = Small(dir.Path, epochs: 3);
        more.KeepModel = KeptModel.Last;
        var resumed = EfficientNetTrainer.Train(more, Train.Value, Test.Value);
        Assert.AreEqual(3, resumed.History.Count);
        Assert.AreEqual(2, resumed.KeptEpoch);
        CollectionAssert.AreEqual(Weights(Path.Combine(dir.Path, "checkpoints", "epoch-0003", "model.safetensors")), Weights(resumed.WeightsPath!));
    }

    [TestMethod]
    public void OptionsStartFromThePublishedWeightsAndKeepTheBestEpochByDefault()
    {
        var options = new EfficientNetTrainingOptions();
        Assert.AreEqual("pretrained", options.InitialWeights);
        Assert.AreEqual(KeptModel.Best, options.KeepModel);
        Assert.AreEqual("pretrained", new EfficientNet.Training.MLNet.EfficientNetMulticlassTrainerOptions().InitialWeights);
    }

    [TestMethod]
    public void ThePublishedWeightsInTheCacheAreWhereADefaultRunStarts()
    {
        using var dir = new TemporaryDirectory();
        string cache = Path.Combine(dir.Path, "cache"), fixture = Fixtures.Generated("b0.torchvision.pth");
        var published = PretrainedWeights.Torchvision(EfficientNetVariant.B0);
        string cached = new WeightCache(cache).PathFor(published);
        Directory.CreateDirectory(cache);
        File.Copy(fixture, cached);
        // The fixture stands in for the 21 MB download this machine cannot make: beside it, the record WeightCache writes
        // after it has verified a download (its SHA-256, then its size and time stamp), so the cache takes it as that file.
        var info = new FileInfo(cached);
        File.WriteAllText(cached + ".sha256", $"{published.Sha256}\n{info.Length} {info.LastWriteTimeUtc.Ticks}\n");

        // No InitialWeights set: the default. A linear probe keeps the backbone as it started.
        var options = new EfficientNetTrainingOptions
        {
            Epochs = 1,
            BatchSize = 16,
            ImageSize = 32,
            Mode = TrainingMode.LinearProbe,
            ValidationFraction = 0,
            CacheDirectory = cache,
            OutputDirectory = Path.Combine(dir.Path, "run"),
            LogEverySteps = 0,
        };
        var result = EfficientNetTrainer.Train(options, Train.Value);
        Assert.AreEqual(TrainingStatus.Completed, result.Status, result.Message);
        var start = StateDict.Load(fixture);
        var end = result.Weights!.Weights;
        int compared = 0;
        foreach (var (key, tensor) in start.Entries.Where(e => !e.Key.StartsWith("classifier.", StringComparison.Ordinal) && !e.Key.EndsWith("num_batches_tracked", StringComparison.Ordinal)))
        {
            CollectionAssert.AreEqual(tensor.Values, end[key].Values, key);
            compared++;
        }
        Assert.IsTrue(compared > 300, $"{compared} backbone tensors compared");
        // ImageNet statistics, the published weights' recipe, are the run's normalisation.
        Assert.AreEqual(PreprocessingRecipe.ImageNetMean, result.Recipe.Mean);
        using var summary = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(options.OutputDirectory, RunFolder.SummaryFileName)));
        Assert.AreEqual("pretrained", summary.RootElement.GetProperty("initialWeights").GetString());
    }

    [TestMethod]
    public void CudaWithoutACudaBuildFailsBeforeAnyWork()
    {
        using var dir = new TemporaryDirectory();
        var options = Small(Path.Combine(dir.Path, "run"));
        options.Device = "cuda:0";
        var error = Assert.ThrowsExactly<InvalidOperationException>(() => EfficientNetTrainer.Train(options, Train.Value));
        StringAssert.Contains(error.Message, "TorchSharp-cpu");
        StringAssert.Contains(error.Message, "docs/TRAINING.md");
        Assert.IsFalse(Directory.Exists(Path.Combine(dir.Path, "run")));
        Assert.ThrowsExactly<ArgumentException>(() => TrainingDevice.Resolve("tpu"));
    }

    [TestMethod]
    public void UnreadableTrainingImagesAreSkippedWithAWarning()
    {
        using var dir = new TemporaryDirectory();
        var mnist = Microsoft.ML.EfficientNet.Data.FashionMnist.Load(train: true);
        mnist.WriteImageFolder(Path.Combine(dir.Path, "images"), 24, [1, 8]);
        File.WriteAllText(Path.Combine(dir.Path, "images", "Trouser", "broken.png"), "not an image");
        var images = FileImageSet.FromFolder(Path.Combine(dir.Path, "images"));
        var logger = new ListLogger();
        var options = Small(Path.Combine(dir.Path, "run"), epochs: 1);
        options.Logger = logger;
        var result = EfficientNetTrainer.Train(options, images);
        Assert.AreEqual(TrainingStatus.Completed, result.Status);
        Assert.IsTrue(logger.Entries.Any(e => e.Level == LogLevel.Warning && e.Message.Contains("broken.png", StringComparison.Ordinal)));
    }

    [TestMethod]
    public void AnImageOverMaxImagePixelsIsSkippedWithOneWarningPerRun()
    {
        // Fashion-MNIST images are 28×28 (784 pixels); one ordinary 40×40 PNG (1,600) is over a limit of 1,000.
        using var dir = new TemporaryDirectory();
        Microsoft.ML.EfficientNet.Data.FashionMnist.Load(train: true).WriteImageFolder(Path.Combine(dir.Path, "images"), 24, [1, 8]);
        string large = Path.Combine(dir.Path, "images", "Trouser", "large.png");
        using (var bitmap = new SkiaSharp.SKBitmap(40, 40))
        {
            bitmap.Erase(new SkiaSharp.SKColor(90, 90, 90));
            using var image = SkiaSharp.SKImage.FromBitmap(bitmap);
            using var png = image.Encode(SkiaSharp.SKEncodedImageFormat.Png, 100);
            File.WriteAllBytes(large, png.ToArray());
        }
        var images = FileImageSet.FromFolder(Path.Combine(dir.Path, "images"));
        var logger = new ListLogger();
        var options = Small(Path.Combine(dir.Path, "run"), epochs: 2);
        Assert.AreEqual(Microsoft.ML.EfficientNet.Preprocessing.ImageDecoder.DefaultMaxPixels, options.MaxImagePixels, "the default is the decoder's");
        options.MaxImagePixels = 1000;
        options.Logger = logger;
        var result = EfficientNetTrainer.Train(options, images);
        Assert.AreEqual(TrainingStatus.Completed, result.Status, result.Message);
        var warnings = logger.Entries.Where(e => e.Level == LogLevel.Warning).Select(e => e.Message).ToList();
        TestContext.WriteLine(string.Join("\n", warnings));
        var named = warnings.Where(w => w.Contains(large, StringComparison.Ordinal)).ToList();
        Assert.AreEqual(1, named.Count, "one warning in two epochs:\n" + string.Join("\n", warnings));
        StringAssert.StartsWith(named[0], $"Skipped {large}: ");
        StringAssert.Contains(named[0], "claims 40×40 pixels (1,600), more than the limit of 1,000 (MaxImagePixels)");
        Assert.AreEqual(1, warnings.Count, "the 28×28 images are all used");

        // A limit below one pixel is refused, naming the option.
        options.MaxImagePixels = 0;
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => EfficientNetTrainer.Train(options, images)).Message, "MaxImagePixels");
    }
}
