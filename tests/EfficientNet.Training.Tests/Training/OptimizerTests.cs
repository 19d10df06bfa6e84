using System.Text.Json;
using EfficientNet.Training.Optimizers;
using Parameter = TorchSharp.Modules.Parameter;
using AdamW = EfficientNet.Training.Optimizers.AdamW;
using static TorchSharp.torch;

namespace EfficientNet.Training.Tests.Training;

[TestClass]
public sealed class OptimizerTests
{
    private static (Parameter Ours, Parameter Reference) Pair(int seed)
    {
        manual_seed(seed);
        var values = randn(5, 4);
        return (new Parameter(values.clone()), new Parameter(values.clone()));
    }

    private static void SetGrad(Parameter p, Tensor g)
    {
        p.grad?.zero_();
        (p * g).sum().backward(); // d/dp Σ p·g = g
    }

    [TestMethod]
    public void AdamWMatchesTorchSharpsReference()
    {
        var (ours, reference) = Pair(1);
        var mine = new AdamW([new ParameterGroup("all", [("w", ours)], 1, 0.05)]);
        var theirs = optim.AdamW([reference], lr: 3e-3, weight_decay: 0.05);
        for (int step = 0; step < 5; step++)
        {
            var g = randn(5, 4);
            SetGrad(ours, g);
            SetGrad(reference, g);
            mine.Step(3e-3);
            theirs.step();
        }
        Assert.IsTrue(ours.allclose(reference, rtol: 1e-5, atol: 1e-7), (ours - reference).abs().max().item<float>().ToString());
    }

    [TestMethod]
    public void NesterovSgdMatchesTorchSharpsReference()
    {
        var (ours, reference) = Pair(2);
        var mine = new SgdMomentum([new ParameterGroup("all", [("w", ours)], 1, 1e-4)], momentum: 0.9, nesterov: true);
        var theirs = optim.SGD([reference], 0.1, momentum: 0.9, weight_decay: 1e-4, nesterov: true);
        for (int step = 0; step < 5; step++)
        {
            var g = randn(5, 4);
            SetGrad(ours, g);
            SetGrad(reference, g);
            mine.Step(0.1);
            theirs.step();
        }
        Assert.IsTrue(ours.allclose(reference, rtol: 1e-5, atol: 1e-7));
    }

    [TestMethod]
    public void TensorFlowRmsPropKeepsEpsilonInsideTheRootAndStartsAtOne()
    {
        // Two steps by hand with TF's rule: v0 = 1, v = αv + (1−α)g², buf = μ·buf + lr·g/√(v+ε), p −= buf.
        var p = new Parameter(tensor(new[] { 1.0f }));
        var optimizer = new RmsPropTF([new ParameterGroup("all", [("w", p)], 1, 0)], alpha: 0.9, epsilon: 1e-3, momentum: 0.9);
        double value = 1, v = 1, buffer = 0, lr = 0.01;
        foreach (double g in new[] { 0.5, -0.25 })
        {
            SetGrad(p, tensor(new[] { (float)g }));
            optimizer.Step(lr);
            v = 0.9 * v + 0.1 * g * g;
            buffer = 0.9 * buffer + lr * g / Math.Sqrt(v + 1e-3);
            value -= buffer;
        }
        Assert.AreEqual(value, p.item<float>(), 1e-6);
    }

    [TestMethod]
    public void OneCycleMatchesPyTorchStepByStep()
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Fixtures.Generated("schedules.json")));
        var reference = json.RootElement.GetProperty("one_cycle");
        var schedule = new LearningRateSchedule(ScheduleKind.OneCycle, 3e-3, 100, 0.15);
        var lrs = reference.GetProperty("lr").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        var betas = reference.GetProperty("beta1").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        for (int step = 0; step < 100; step++)
        {
            var (lr, momentum) = schedule.At(step);
            Assert.AreEqual(lrs[step], lr, 1e-12, $"learning rate at step {step}");
            Assert.AreEqual(betas[step], momentum!.Value, 1e-12, $"β1 at step {step}");
        }
    }

    [TestMethod]
    public void CosineWarmsUpLinearlyThenDecaysToZero()
    {
        var schedule = new LearningRateSchedule(ScheduleKind.CosineWithWarmup, 1.0, 100, 0.1);
        Assert.AreEqual(0.1, schedule.At(0).LearningRate, 1e-12);
        Assert.AreEqual(1.0, schedule.At(9).LearningRate, 1e-12);
        Assert.AreEqual(0.5, schedule.At(55).LearningRate, 1e-12);
        Assert.IsTrue(schedule.At(99).LearningRate < 1e-3);
        Assert.IsNull(schedule.At(50).Momentum);
    }

    [TestMethod]
    public void StateRoundTripsThroughSaveAndLoad()
    {
        var (p, _) = Pair(3);
        var optimizer = new AdamW([new ParameterGroup("all", [("w", p)], 1, 0)]);
        SetGrad(p, ones(5, 4));
        optimizer.Step(1e-3);
        var (tensors, steps) = optimizer.SaveState();
        var copy = new AdamW([new ParameterGroup("all", [("w", p)], 1, 0)]);
        copy.LoadState(tensors, steps);
        Assert.AreEqual(1, copy.StepCount);
        CollectionAssert.AreEquivalent(new[] { "w/exp_avg", "w/exp_avg_sq", "w/step" }, copy.SaveState().Tensors.Keys.ToArray());
        Assert.IsTrue(copy.SaveState().Tensors["w/exp_avg"].allclose(tensors["w/exp_avg"]));
    }
}
