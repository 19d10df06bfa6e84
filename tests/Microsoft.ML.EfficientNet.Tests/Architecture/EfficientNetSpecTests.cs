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

    // torchvision 0.14 EfficientNet_V2_{S,M,L}_Weights num_params and GFLOPS at 384/480/480 (docs/WEIGHTS.md).
    public static IEnumerable<object[]> V2 =>
    [
        ["v2-s", 21_458_488L, 8.366, 24, 40, 12, "24x2 48x4 64x4 128x6 160x9 256x15", 782],
        ["v2-m", 54_139_356L, 24.582, 24, 57, 15, "24x3 48x5 80x5 160x7 176x14 304x18 512x5", 1120],
        ["v2-l", 118_515_272L, 56.08, 32, 79, 15, "32x4 64x7 96x7 192x10 224x19 384x25 640x7", 1548],
    ];

    [TestMethod]
    [DynamicData(nameof(V2))]
    public void V2MatchesTorchvision(string name, long parameters, double gmacs, int stem, int blocks, int finalMap, string stages, int keys)
    {
        var spec = EfficientNetSpec.Create(name);
        Assert.AreEqual(parameters, spec.ParameterCount, "parameters");
        double actual = spec.MultiplyAccumulates() / 1e9;
        Assert.IsTrue(Math.Abs(actual - gmacs) / gmacs < 0.005, $"{name}: {actual:F4} GMACs vs {gmacs}");
        Assert.AreEqual(stem, spec.StemChannels);
        Assert.AreEqual(1280, spec.HeadChannels);
        Assert.AreEqual(blocks, spec.Blocks.Count);
        Assert.AreEqual(finalMap, spec.FinalFeatureMapSize(spec.Resolution));
        Assert.AreEqual(stages, string.Join(" ", spec.Stages.Select(s => $"{s[0].OutputChannels}x{s.Count}")));
        // torchvision's efficientnet_v2_*().state_dict() lengths, num_batches_tracked included.
        Assert.AreEqual(keys, spec.StateDict.Count);
        Assert.AreEqual(0.2, spec.StochasticDepthRate);
        Assert.IsTrue(spec.Variant.IsV2);
    }

    // timm's efficientnet_lite0 … lite4 parameter counts with 1000 classes (published rounded: 4.65, 5.42, 6.09, 8.20,
    // 13.01 M; the exact ones come from the reference built from timm's _gen_efficientnet_lite in
    // scripts/make_parity_fixtures.py, which asserts they round to the published ones), and their layout: stem 32 and
    // head 1280 at every width, first and last stage one block at every depth.
    public static IEnumerable<object[]> Lite =>
    [
        ["lite0", 4_652_008L, 224, "16x1 24x2 40x2 80x3 112x3 192x4 320x1"],
        ["lite1", 5_416_680L, 240, "16x1 24x3 40x3 80x4 112x4 192x5 320x1"],
        ["lite2", 6_092_072L, 260, "16x1 24x3 48x3 88x4 120x4 208x5 352x1"],
        ["lite3", 8_197_096L, 280, "24x1 32x3 48x3 96x5 136x5 232x6 384x1"],
        ["lite4", 13_006_568L, 300, "24x1 32x4 56x4 112x6 160x6 272x8 448x1"],
    ];

    [TestMethod]
    [DynamicData(nameof(Lite))]
    public void LiteMatchesTimm(string name, long parameters, int resolution, string stages)
    {
        var spec = EfficientNetSpec.Create(name);
        Assert.AreEqual(parameters, spec.ParameterCount, "parameters");
        Assert.AreEqual(resolution, spec.Resolution);
        Assert.AreEqual(32, spec.StemChannels, "the stem is not scaled");
        Assert.AreEqual(1280, spec.HeadChannels, "the head is not scaled");
        Assert.AreEqual(stages, string.Join(" ", spec.Stages.Select(s => $"{s[0].OutputChannels}x{s.Count}")));
        Assert.IsTrue(spec.Blocks.All(b => b.SqueezeExcitation is null), "no squeeze-and-excitation");
        Assert.IsFalse(spec.StateDict.Any(t => t.Name.Contains("fc1", StringComparison.Ordinal)));
        Assert.AreEqual(ActivationKind.ReLU6, spec.Activation);
        // The first block takes the fixed 32-channel stem, whatever the width.
        Assert.AreEqual(32, spec.Blocks[0].InputChannels);
        Assert.IsTrue(spec.Variant.IsLite);
        Assert.IsFalse(spec.Variant.IsV2);
    }

    [TestMethod]
    public void LiteNamesParseInEveryPublishedSpelling()
    {
        foreach (string name in (string[])["lite2", "LITE2", "efficientnet_lite2", "efficientnet-lite2", "tf_efficientnet_lite2"])
            Assert.AreSame(EfficientNetVariant.Lite2, EfficientNetVariant.Parse(name), name);
        Assert.IsFalse(EfficientNetSpec.Create("b0").Variant.IsLite);
        Assert.AreEqual(ActivationKind.SiLU, EfficientNetSpec.Create("b0").Activation);
    }

    [TestMethod]
    public void FusedBlocksHaveNoDepthwiseAndNoSqueeze()
    {
        var spec = EfficientNetSpec.Create("v2-s");
        // Stage 1: expand ratio 1, one 3×3 unit with activation at features.1.K.block.0.
        var single = spec.Stages[0][0];
        Assert.AreEqual(MBConvKind.FusedMBConv, single.Kind);
        Assert.IsNull(single.Expand);
        Assert.IsNull(single.Depthwise);
        Assert.IsNull(single.SqueezeExcitation);
        Assert.AreEqual("features.1.0.block.0.0", single.Project.Conv.Name);
        Assert.AreEqual(3, single.Project.Conv.KernelSize);
        Assert.IsTrue(single.Project.HasActivation);
        Assert.IsTrue(single.HasResidual);
        // Stage 2: 3×3 stride-2 expand to 4·24 = 96, then 1×1 project to 48 without activation.
        var fused = spec.Stages[1][0];
        Assert.AreEqual("features.2.0.block.0.0", fused.Expand!.Conv.Name);
        Assert.AreEqual(3, fused.Expand.Conv.KernelSize);
        Assert.AreEqual(2, fused.Expand.Conv.Stride);
        Assert.AreEqual(96, fused.Expand.Conv.OutputChannels);
        Assert.AreEqual("features.2.0.block.1.0", fused.Project.Conv.Name);
        Assert.AreEqual(1, fused.Project.Conv.KernelSize);
        Assert.IsFalse(fused.Project.HasActivation);
        // Stage 4 is MBConv with squeeze-excitation from the block input: 64 / 4 = 16.
        var mbconv = spec.Stages[3][0];
        Assert.AreEqual(MBConvKind.MBConv, mbconv.Kind);
        Assert.AreEqual(16, mbconv.SqueezeExcitation!.Reduce.OutputChannels);
        Assert.AreEqual("features.4.0.block.2.fc1", mbconv.SqueezeExcitation.Reduce.Name);
        Assert.AreEqual("features.7.0", spec.Head.Conv.Name);
        Assert.AreEqual(0.2 * 39 / 40, spec.Blocks[^1].DropPathRate, 1e-12);
    }

    [TestMethod]
    public void V2NamesParse()
    {
        foreach (string name in (string[])["v2-s", "V2-S", "v2_s", "efficientnet_v2_s", "efficientnetv2_s", "tf_efficientnetv2_s"])
            Assert.AreSame(EfficientNetVariant.V2S, EfficientNetVariant.Parse(name), name);
        Assert.AreSame(EfficientNetVariant.V2M, EfficientNetVariant.Parse("efficientnet_v2_m"));
        Assert.AreSame(EfficientNetVariant.V2L, EfficientNetVariant.Parse("v2-l"));
        Assert.AreEqual(0.4, EfficientNetVariant.V2L.Dropout);
        Assert.AreEqual(480, EfficientNetVariant.V2M.Resolution);
        Assert.IsFalse(EfficientNetVariant.B0.IsV2);
        Assert.AreEqual(16, EfficientNetVariant.Named.Count); // B0–B7, V2-S/M/L, Lite0–Lite4
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => EfficientNetVariant.Parse("v2-xl")).Message, "v2-l");
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
