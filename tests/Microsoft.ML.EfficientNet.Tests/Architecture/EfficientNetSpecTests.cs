using Microsoft.ML.EfficientNet.Architecture;

namespace Microsoft.ML.EfficientNet.Tests.Architecture;

[TestClass]
public sealed class EfficientNetSpecTests
{
    // torchvision 0.14 num_params and the conv+linear multiply-accumulates of its published GFLOPS
    // (docs/WEIGHTS.md, "Family reference numbers").
    public static IEnumerable<object[]> Published =>
    [
        ["b0", 5_288_548L, 0.386, 32, 1280, 16, 7],
        ["b1", 7_794_184L, 0.687, 32, 1280, 23, 8],
        ["b2", 9_109_994L, 0.994, 32, 1408, 23, 9],
        ["b3", 12_233_232L, 1.827, 40, 1536, 26, 10],
        ["b4", 19_341_616L, 4.394, 48, 1792, 32, 12],
        ["b5", 30_389_784L, 10.266, 48, 2048, 39, 15],
        ["b6", 43_040_704L, 19.068, 56, 2304, 45, 17],
        ["b7", 66_347_960L, 37.746, 64, 2560, 55, 19],
    ];

    [TestMethod]
    [DynamicData(nameof(Published))]
    public void MatchesTorchvision(string name, long parameters, double gmacs, int stem, int head, int blocks, int finalMap)
    {
        var spec = EfficientNetSpec.Create(name);
        Assert.AreEqual(parameters, spec.ParameterCount, "parameters");
        double actual = spec.MultiplyAccumulates() / 1e9;
        Assert.IsTrue(Math.Abs(actual - gmacs) / gmacs < 0.005, $"{name}: {actual:F4} GMACs vs {gmacs}");
        Assert.AreEqual(stem, spec.StemChannels);
        Assert.AreEqual(head, spec.HeadChannels);
        Assert.AreEqual(blocks, spec.Blocks.Count);
        Assert.AreEqual(finalMap, spec.FinalFeatureMapSize(spec.Resolution));
    }

    [TestMethod]
    public void B2AtTorchvisionEvalSizeHas1088MegaMacs()
    {
        double gmacs = EfficientNetSpec.Create("b2").MultiplyAccumulates(288, 288) / 1e9;
        Assert.AreEqual(1.088, gmacs, 0.005 * 1.088);
    }

    [TestMethod]
    public void StageTableMatchesThePublishedFamily()
    {
        string[] expected =
        [
            "16x1 24x2 40x2 80x3 112x3 192x4 320x1",
            "16x2 24x3 40x3 80x4 112x4 192x5 320x2",
            "16x2 24x3 48x3 88x4 120x4 208x5 352x2",
            "24x2 32x3 48x3 96x5 136x5 232x6 384x2",
            "24x2 32x4 56x4 112x6 160x6 272x8 448x2",
            "24x3 40x5 64x5 128x7 176x7 304x9 512x3",
            "32x3 40x6 72x6 144x8 200x8 344x11 576x3",
            "32x4 48x7 80x7 160x10 224x10 384x13 640x4",
        ];
        for (int i = 0; i < 8; i++)
        {
            var spec = EfficientNetSpec.Create(EfficientNetVariant.Published[i]);
            string actual = string.Join(" ", spec.Stages.Select(s => $"{s[0].OutputChannels}x{s.Count}"));
            Assert.AreEqual(expected[i], actual, spec.Variant.Name);
        }
    }

    [TestMethod]
    public void SqueezeWidthComesFromTheBlockInput()
    {
        var block = EfficientNetSpec.Create("b0").Stages[1][0];
        Assert.AreEqual(16, block.InputChannels);
        Assert.AreEqual(96, block.ExpandedChannels);
        Assert.AreEqual(4, block.SqueezeChannels);
    }

    [TestMethod]
    public void StochasticDepthGrowsLinearlyOverAllBlocks()
    {
        var spec = EfficientNetSpec.Create("b0");
        for (int i = 0; i < spec.Blocks.Count; i++)
            Assert.AreEqual(0.2 * i / 16, spec.Blocks[i].DropPathRate, 1e-12);
        Assert.AreEqual(0.0, spec.Blocks[0].DropPathRate);
        Assert.AreEqual(0.1875, spec.Blocks[^1].DropPathRate, 1e-12);
    }

    [TestMethod]
    public void ResidualOnlyWhereStrideOneAndWidthsAgree()
    {
        var spec = EfficientNetSpec.Create("b0");
        Assert.AreEqual(9, spec.Blocks.Count(b => b.HasResidual)); // 16 blocks − 7 stage openers
        Assert.IsFalse(spec.Blocks[0].HasExpansion);
        Assert.IsTrue(spec.Blocks.Skip(1).All(b => b.HasExpansion));
    }

    [TestMethod]
    public void StateDictHasTheReferenceKeyCounts()
    {
        // 360 for B0 … 1200 for B7 (docs/WEIGHTS.md), num_batches_tracked included.
        int[] expected = [360, 508, 508, 574, 706, 854, 986, 1200];
        for (int i = 0; i < 8; i++)
        {
            var spec = EfficientNetSpec.Create(EfficientNetVariant.Published[i]);
            Assert.AreEqual(expected[i], spec.StateDict.Count, spec.Variant.Name);
        }
        Assert.AreEqual(49, EfficientNetSpec.Create("b0").StateDict.Count(t => t.Role == TensorRole.NumBatchesTracked));
    }

    [TestMethod]
    public void ClassCountOnlyChangesTheClassifier()
    {
        var imagenet = EfficientNetSpec.Create("b0");
        var ten = EfficientNetSpec.Create(EfficientNetVariant.B0, numClasses: 10);
        Assert.AreEqual(imagenet.ParameterCount - 990 * 1281, ten.ParameterCount);
    }

    [TestMethod]
    public void EndpointsReportChannelsAndStride()
    {
        var endpoints = EfficientNetSpec.Create("b0").Endpoints();
        CollectionAssert.AreEqual(new[] { 32, 16, 24, 40, 80, 112, 192, 320 }, endpoints.Select(e => e.Channels).ToArray());
        CollectionAssert.AreEqual(new[] { 2, 2, 4, 8, 16, 16, 32, 32 }, endpoints.Select(e => e.Reduction).ToArray());
    }

    [TestMethod]
    public void RejectsBadArguments()
    {
        var error = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => EfficientNetSpec.Create(EfficientNetVariant.B0, numClasses: 0));
        Assert.AreEqual("numClasses", error.ParamName);
    }
}
