using EfficientNet.Training.Modules;
using EfficientNet.Training.Weights;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Weights;
using static TorchSharp.torch;

namespace EfficientNet.Training.Tests.Training;

/// <summary>
/// The memory options change how activations are kept, never the numbers. Compared on the calibrated B0 fixture (a
/// randomly initialised network in training mode amplifies float rounding chaotically, so it cannot tell a layout
/// difference from a bug) with stochastic depth and dropout active, so replaying random state is tested too.
/// </summary>
[TestClass]
public sealed class MemoryOptionTests
{
    private static readonly EfficientNetCheckpoint Weights = EfficientNetCheckpoint.Load(Fixtures.Generated("b0.torchvision.pth"), EfficientNetVariant.B0);

    private static (float Loss, Dictionary<string, Tensor> Grads, Tensor RunningMean) Step(Func<EfficientNetModel> build, Action<EfficientNetModel> configure, bool channelsLast = false)
    {
        var model = build();
        ModelWeights.Load(model, Weights.Weights);
        configure(model);
        model.train();
        var input = Fixtures.Cases.Single(c => c.Weights == "b0.torchvision.pth").ReadIo().Input;
        var x = tensor(input.Values, input.Shape);
        if (channelsLast) x = EfficientNetModel.ChannelsLast(x);
        const string counter = "features.2.0.block.1.1.num_batches_tracked";
        long batchesBefore = model.state_dict()[counter].item<long>();
        manual_seed(6);
        var loss = nn.functional.cross_entropy(model.forward(x), tensor(new long[] { 3, 7 }));
        loss.backward();
        var missing = model.named_parameters().Where(p => p.parameter.grad is null).Select(p => p.name).ToList();
        Assert.AreEqual(0, missing.Count, "parameters without a gradient: " + string.Join(", ", missing.Take(5)));
        Assert.AreEqual(batchesBefore + 1, model.state_dict()[counter].item<long>(), "batch counted once, also when recomputed");
        var grads = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.clone());
        return (loss.item<float>(), grads, model.state_dict()["features.2.0.block.1.1.running_mean"].clone());
    }

    private static EfficientNetModel Plain() => new(Weights.Spec);

    private static void AssertSame((float Loss, Dictionary<string, Tensor> Grads, Tensor RunningMean) a, (float Loss, Dictionary<string, Tensor> Grads, Tensor RunningMean) b, double tolerance)
    {
        Assert.AreEqual(a.Loss, b.Loss, tolerance * Math.Abs(a.Loss) + 1e-6, "loss");
        double scale = a.Grads.Values.Max(g => g.abs().max().item<float>());
        foreach (var (name, grad) in a.Grads)
        {
            double diff = (grad - b.Grads[name]).abs().max().item<float>();
            Assert.IsTrue(diff <= tolerance * scale, $"{name}: max |Δ| {diff} vs largest gradient {scale}");
        }
        Assert.IsTrue(a.RunningMean.allclose(b.RunningMean, rtol: 1e-5, atol: 1e-7), "batch-norm running statistics updated once");
    }

    [TestMethod]
    public void MemoryEfficientSiLUGivesTheSameGradients()
    {
        var plain = Step(Plain, _ => { });
        var efficient = Step(() => new EfficientNetModel(Weights.Spec, activation: () => new MemoryEfficientSiLU()), _ => { });
        AssertSame(plain, efficient, 1e-4);
    }

    [TestMethod]
    public void ActivationCheckpointingGivesTheSameGradientsAndStatistics()
    {
        var plain = Step(Plain, _ => { });
        var checkpointed = Step(Plain, m => m.CheckpointedStages = new HashSet<int> { 1, 2, 3, 6 });
        AssertSame(plain, checkpointed, 1e-4);
        // Including the stem, whose input (the image) has no gradient of its own.
        var everything = Step(Plain, m => m.CheckpointedStages = Enumerable.Range(0, 9).ToHashSet());
        Assert.AreEqual(plain.Grads.Count, everything.Grads.Count);
        AssertSame(plain, everything, 1e-4);
    }

    [TestMethod]
    public void ChannelsLastGivesTheSameGradients()
    {
        var plain = Step(Plain, _ => { });
        var channelsLast = Step(Plain, m => m.ToChannelsLast(), channelsLast: true);
        AssertSame(plain, channelsLast, 1e-4);
    }
}
