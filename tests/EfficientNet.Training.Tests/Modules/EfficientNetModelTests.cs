using EfficientNet.Training.Modules;
using Microsoft.ML.EfficientNet.Architecture;
using static TorchSharp.torch;

namespace EfficientNet.Training.Tests.Modules;

[TestClass]
public sealed class EfficientNetModelTests
{
    public static IEnumerable<object[]> Variants => EfficientNetVariant.Published.Select(v => new object[] { v.Name });

    [TestMethod]
    [DynamicData(nameof(Variants))]
    public void LiveModuleHasTheSpecsTensors(string name)
    {
        var spec = EfficientNetSpec.Create(name);
        using var model = new EfficientNetModel(spec);
        Assert.AreEqual(spec.ParameterCount, model.ParameterCount, "parameters");
        var live = model.state_dict();
        // TorchSharp lists parameters before buffers; the set of keys and each shape must equal the spec's.
        CollectionAssert.AreEquivalent(spec.StateDict.Select(t => t.Name).ToArray(), live.Keys.ToArray(), "state-dict keys");
        foreach (var t in spec.StateDict)
            CollectionAssert.AreEqual(t.Shape, live[t.Name].shape, t.Name);
    }

    [TestMethod]
    public void EndpointsHaveTheSpecsChannelsAndStrides()
    {
        var spec = EfficientNetSpec.Create("b0");
        using var model = new EfficientNetModel(spec);
        model.eval();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var maps = model.Endpoints(randn(1, 3, 224, 224));
        var expected = spec.Endpoints();
        Assert.AreEqual(expected.Count, maps.Count);
        for (int i = 0; i < maps.Count; i++)
            CollectionAssert.AreEqual(new long[] { 1, expected[i].Channels, 224 / expected[i].Reduction, 224 / expected[i].Reduction }, maps[i].shape, expected[i].Name);
    }

    [TestMethod]
    public void AnyClassCountAndPooledFeatures()
    {
        using var model = new EfficientNetModel(EfficientNetSpec.Create(EfficientNetVariant.B0, numClasses: 7));
        model.eval();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var x = randn(3, 3, 64, 64);
        CollectionAssert.AreEqual(new long[] { 3, 7 }, model.forward(x).shape);
        CollectionAssert.AreEqual(new long[] { 3, 1280 }, model.PooledFeatures(x).shape);
    }

    [TestMethod]
    public void StochasticDepthDropsWholeSamplesOnlyInTraining()
    {
        using var drop = new StochasticDepth(0.5);
        using var scope = NewDisposeScope();
        manual_seed(7);
        var x = ones(2000, 1, 1, 1);
        drop.train();
        var y = drop.forward(x).flatten();
        var values = y.data<float>().ToArray();
        Assert.IsTrue(values.All(v => v == 0f || v == 2f), "survivors are scaled by 1/(1−p)");
        double kept = values.Count(v => v == 2f) / 2000.0;
        Assert.AreEqual(0.5, kept, 0.05);
        drop.eval();
        CollectionAssert.AreEqual(x.flatten().data<float>().ToArray(), drop.forward(x).flatten().data<float>().ToArray());
    }
}
