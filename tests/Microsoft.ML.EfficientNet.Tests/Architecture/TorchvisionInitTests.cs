using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Weights;

namespace Microsoft.ML.EfficientNet.Tests.Architecture;

[TestClass]
public sealed class TorchvisionInitTests
{
    [TestMethod]
    public void ConvolutionsUsePyTorchsFanOutWhateverTheGroups()
    {
        var spec = EfficientNetSpec.Create(EfficientNetVariant.B0, numClasses: 10);
        var stem = TorchvisionInit.ConvWeight(spec.Stem.Conv); // 32 × 3 × 3 × 3
        Assert.AreEqual(InitDistribution.Normal, stem.Distribution);
        Assert.AreEqual(Math.Sqrt(2.0 / (32 * 9)), stem.Scale, 1e-15);
        var depthwise = spec.StateDict.Single(t => t.Layer.Role == LayerRole.DepthwiseConv && t.Name.StartsWith("features.1.0.", StringComparison.Ordinal));
        CollectionAssert.AreEqual(new long[] { 32, 1, 3, 3 }, depthwise.Shape);
        Assert.AreEqual(Math.Sqrt(2.0 / (32 * 9)), TorchvisionInit.For(depthwise).Scale, 1e-15, "fan-out = out · k², not divided by the groups");
        Assert.AreEqual(new TensorInit(InitDistribution.Uniform, 1 / Math.Sqrt(10)), TorchvisionInit.For(spec.StateDict.Single(t => t.Name == "classifier.1.weight")));
        Assert.AreEqual(new TensorInit(InitDistribution.Uniform, 1 / Math.Sqrt(1280)), TorchvisionInit.TransferClassifier(spec.Classifier));
        Assert.AreEqual(InitDistribution.Ones, TorchvisionInit.For(spec.StateDict.Single(t => t.Name == "features.0.1.running_var")).Distribution);
        Assert.AreEqual(InitDistribution.Zeros, TorchvisionInit.For(spec.StateDict.Single(t => t.Name == "features.0.1.bias")).Distribution);
    }

    [TestMethod]
    public void RandomWeightsDrawFromTheRule()
    {
        var spec = EfficientNetSpec.Create(EfficientNetVariant.B0, numClasses: 10);
        var weights = RandomWeights.Create(spec, seed: 1).Weights.Entries.ToDictionary(e => e.Key, e => e.Value.Values);
        foreach (var t in spec.StateDict.Where(t => t.ElementCount >= 1000))
        {
            var values = weights[t.Name];
            var init = TorchvisionInit.For(t);
            double mean = values.Average(v => (double)v), std = Math.Sqrt(values.Average(v => (v - mean) * (double)(v - mean)));
            double expected = init.Distribution switch
            {
                InitDistribution.Normal => init.Scale,
                InitDistribution.Uniform => init.Scale / Math.Sqrt(3),
                _ => 0,
            };
            Assert.AreEqual(expected, std, 0.1 * expected + 1e-12, t.Name);
        }
    }

    [TestMethod]
    public void AVariantConvertsFromItsName()
    {
        EfficientNetVariant variant = "efficientnet_b4";
        Assert.AreSame(EfficientNetVariant.B4, variant);
        var error = Assert.ThrowsExactly<ArgumentException>(() => { EfficientNetVariant v = "b9"; });
        StringAssert.Contains(error.Message, "Valid variants: b0, b1, b2, b3, b4, b5, b6, b7, v2-s, v2-m, v2-l, lite0, lite1, lite2, lite3, lite4.");
    }
}
