using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Preprocessing;
using Microsoft.ML.EfficientNet.Weights;

namespace Microsoft.ML.EfficientNet.Tests.Weights;

/// <summary>The one table of published weight files (docs/WEIGHTS.md) and the lookups that read it.</summary>
[TestClass]
public sealed class PublishedWeightsTests
{
    private static readonly IReadOnlyList<EfficientNetVariant> B0ToB7 = EfficientNetVariant.Published;

    // torchvision 0.14 EfficientNet_BN_Weights.IMAGENET1K_V1: (resize, crop), acc@1, acc@5.
    private static readonly (int Resize, int Crop)[] TorchvisionSizes = [(256, 224), (256, 240), (288, 288), (320, 300), (384, 380), (456, 456), (528, 528), (600, 600)];
    private static readonly double[] TorchvisionTop1 = [77.692, 78.642, 80.608, 82.008, 83.384, 83.444, 84.008, 84.122];
    private static readonly double[] TorchvisionTop5 = [93.532, 94.186, 95.310, 96.054, 96.594, 96.628, 96.916, 96.908];

    // timm tf_efficientnet_bN.aa_in1k: crop_pct and top-1.
    private static readonly double[] TimmCropFractions = [0.875, 0.882, 0.890, 0.904, 0.922, 0.934, 0.942, 0.949];
    private static readonly double[] TimmTop1 = [76.882, 78.840, 80.074, 81.648, 83.040, 83.696, 84.124, 84.424];

    [TestMethod]
    public void V2EntriesCarryTorchvisionsRecipeAndEps()
    {
        // torchvision 0.14 EfficientNet_V2_{S,M,L}_Weights.IMAGENET1K_V1.
        var s = PretrainedWeights.Torchvision(EfficientNetVariant.V2S);
        Assert.AreEqual("https://download.pytorch.org/models/efficientnet_v2_s-dd5fe13b.pth", s.Url.ToString());
        Assert.AreEqual("dd5fe13b", s.Sha256);
        Assert.AreEqual(new PreprocessingRecipe(384, 384, PreprocessingRecipe.ImageNetMean, PreprocessingRecipe.ImageNetStd, ResizeInterpolation.Bilinear), s.Preprocessing);
        Assert.AreEqual(84.228, s.Top1);
        Assert.AreEqual(96.878, s.Top5);
        var m = PretrainedWeights.Torchvision(EfficientNetVariant.V2M);
        Assert.AreEqual("efficientnet_v2_m-dc08266a.pth", m.FileName);
        Assert.AreEqual(new PreprocessingRecipe(480, 480, PreprocessingRecipe.ImageNetMean, PreprocessingRecipe.ImageNetStd, ResizeInterpolation.Bilinear), m.Preprocessing);
        Assert.AreEqual(85.112, m.Top1);
        Assert.AreEqual(97.156, m.Top5);
        var l = PretrainedWeights.Torchvision(EfficientNetVariant.V2L);
        Assert.AreEqual("efficientnet_v2_l-59c71312.pth", l.FileName);
        Assert.AreEqual(new PreprocessingRecipe(480, 480, PreprocessingRecipe.AdvProp, PreprocessingRecipe.AdvProp, ResizeInterpolation.Bicubic), l.Preprocessing);
        Assert.AreEqual(l.Preprocessing, PretrainedWeights.RecipeFor(WeightFormat.TorchVision, EfficientNetVariant.V2L), "V2-L keeps mean = std = 0.5");
        Assert.AreEqual(85.808, l.Top1);
        Assert.AreEqual(97.788, l.Top5);
        foreach (var variant in EfficientNetVariant.V2)
        {
            var source = WeightSource.For(WeightFormat.TorchVision, variant);
            Assert.AreEqual(1e-3, source.BatchNormEpsilon, variant.Name);
            Assert.AreEqual(PaddingMode.Symmetric, source.Padding);
        }
    }

    [TestMethod]
    public void TableHoldsOneEntryPerFormatAndVariant()
    {
        // 3 formats × B0–B7, plus torchvision's V2-S/M/L, timm's tf_efficientnet_lite0–4 and efficientnet_lite0.
        Assert.AreEqual(33, PretrainedWeights.Published.Count);
        Assert.AreEqual(33, PretrainedWeights.Published.Select(w => (w.Format, w.Variant.Name)).Distinct().Count());
        foreach (var format in (WeightFormat[])[WeightFormat.TorchVision, WeightFormat.LukeMelas, WeightFormat.TimmTensorFlow])
            foreach (var variant in B0ToB7)
            {
                var entry = PretrainedWeights.Find(format, variant);
                Assert.IsNotNull(entry, $"{format} {variant.Name}");
                Assert.AreEqual(variant, entry.Variant);
                Assert.AreEqual(format, entry.Format);
                StringAssert.EndsWith(entry.Url.ToString(), format == WeightFormat.TimmTensorFlow ? "model.safetensors" : entry.FileName);
            }
        Assert.IsNull(PretrainedWeights.Find(WeightFormat.Timm, EfficientNetVariant.B0));
        Assert.IsNull(PretrainedWeights.Find(WeightFormat.TorchVision, EfficientNetVariant.FromPhi(1)));
        // Cache file names must not collide (timm's hub files are all model.safetensors).
        Assert.AreEqual(33, PretrainedWeights.Published.Select(w => w.FileName).Distinct().Count());
        Assert.AreEqual("https://huggingface.co/timm/tf_efficientnet_b4.aa_in1k/resolve/main/model.safetensors",
            PretrainedWeights.Find(WeightFormat.TimmTensorFlow, EfficientNetVariant.B4)!.Url.ToString());
        Assert.AreEqual("https://github.com/lukemelas/EfficientNet-PyTorch/releases/download/1.0/efficientnet-b7-dcc49843.pth",
            PretrainedWeights.Find(WeightFormat.LukeMelas, EfficientNetVariant.B7)!.Url.ToString());
    }

    [TestMethod]
    public void LiteEntriesCarryTimmsRecipes()
    {
        // timm's tf_efficientnet_liteN.in1k: mean = std = 0.5, crop_pct, bicubic for Lite0–2 and bilinear for Lite3–4,
        // SAME padding and eps 1e-3; evaluated at 300 and 380 px for Lite3 and Lite4 (above their native 280 and 300).
        (int Crop, int Resize, ResizeInterpolation Interpolation)[] expected =
            [(224, 256, ResizeInterpolation.Bicubic), (240, 272, ResizeInterpolation.Bicubic), (260, 292, ResizeInterpolation.Bicubic),
             (300, 331, ResizeInterpolation.Bilinear), (380, 413, ResizeInterpolation.Bilinear)];
        for (int i = 0; i < EfficientNetVariant.Lite.Count; i++)
        {
            var variant = EfficientNetVariant.Lite[i];
            var entry = PretrainedWeights.Find(WeightFormat.TimmTensorFlow, variant)!;
            Assert.AreEqual(new PreprocessingRecipe(expected[i].Resize, expected[i].Crop, PreprocessingRecipe.AdvProp, PreprocessingRecipe.AdvProp, expected[i].Interpolation),
                entry.Preprocessing, variant.Name);
            Assert.AreEqual(new WeightSource(WeightFormat.TimmTensorFlow, PaddingMode.TensorFlowSame, 1e-3, 0.1), entry.Source);
            StringAssert.StartsWith(entry.Url.ToString(), "https://github.com/rwightman/pytorch-image-models/releases/download/v0.1-weights/tf_efficientnet_lite");
            // "pretrained" for a Lite variant is this file: torchvision has no Lite.
            Assert.IsNull(PretrainedWeights.Find(WeightFormat.TorchVision, variant));
            Assert.AreEqual(entry.FileName, PretrainedWeights.Default(variant).FileName);
            // timm's own efficientnet_liteN evaluate with ImageNet statistics at the same crops.
            Assert.AreEqual(entry.Preprocessing with { Mean = PreprocessingRecipe.ImageNetMean, Std = PreprocessingRecipe.ImageNetStd },
                PretrainedWeights.RecipeFor(WeightFormat.Timm, variant), variant.Name);
        }
        var lite0 = PretrainedWeights.Find(WeightFormat.Timm, EfficientNetVariant.Lite0)!;
        Assert.AreEqual("efficientnet_lite0_ra-37913777.pth", lite0.FileName);
        Assert.AreEqual(new WeightSource(WeightFormat.Timm, PaddingMode.Symmetric, 1e-5, 0.1), lite0.Source);
        Assert.AreEqual(PretrainedWeights.Torchvision(EfficientNetVariant.B0), PretrainedWeights.Default(EfficientNetVariant.B0));
        Assert.ThrowsExactly<ArgumentException>(() => PretrainedWeights.Default(EfficientNetVariant.FromPhi(1)));
    }

    [TestMethod]
    public void OnlyTorchvisionPublishesDigests()
    {
        foreach (var entry in PretrainedWeights.Published)
        {
            Assert.AreEqual(entry.Format == WeightFormat.TorchVision, entry.HasDigest, entry.FileName);
            if (entry.HasDigest) StringAssert.Contains(entry.FileName, "-" + entry.Sha256[..8] + ".pth");
        }
        Assert.AreEqual("7f5810bc96def8f7552d5b7e68d53c4786f81167d28291b21c0d90e1fca14934", PretrainedWeights.Find(WeightFormat.TorchVision, EfficientNetVariant.B0)!.Sha256);
    }

    [TestMethod]
    public void RecipesAreTheOnesForGaveBefore()
    {
        var (mean, std) = (PreprocessingRecipe.ImageNetMean, PreprocessingRecipe.ImageNetStd);
        for (int i = 0; i < B0ToB7.Count; i++)
        {
            var v = B0ToB7[i];
            var torchvision = new PreprocessingRecipe(TorchvisionSizes[i].Resize, TorchvisionSizes[i].Crop, mean, std, ResizeInterpolation.Bicubic);
            Assert.AreEqual(torchvision, PretrainedWeights.RecipeFor(WeightFormat.TorchVision, v), v.Name);
            Assert.AreEqual(torchvision, PretrainedWeights.Find(WeightFormat.TorchVision, v)!.Preprocessing);
            Assert.AreEqual(new PreprocessingRecipe(v.Resolution, v.Resolution, mean, std, ResizeInterpolation.Bicubic), PretrainedWeights.RecipeFor(WeightFormat.LukeMelas, v), v.Name);
            var timm = new PreprocessingRecipe((int)Math.Floor(v.Resolution / TimmCropFractions[i]), v.Resolution, mean, std, ResizeInterpolation.Bicubic);
            Assert.AreEqual(timm, PretrainedWeights.RecipeFor(WeightFormat.TimmTensorFlow, v), v.Name);
            Assert.AreEqual(timm, PretrainedWeights.RecipeFor(WeightFormat.Timm, v), v.Name);
            var advProp = PretrainedWeights.RecipeFor(WeightFormat.TimmTensorFlow, v, advProp: true);
            Assert.AreEqual(timm with { Mean = PreprocessingRecipe.AdvProp, Std = PreprocessingRecipe.AdvProp }, advProp);
        }
        // Real numbers: B3 320 → 300, timm B7 ⌊600 / 0.949⌋ = 632.
        Assert.AreEqual(320, PretrainedWeights.RecipeFor(WeightFormat.TorchVision, EfficientNetVariant.B3).ResizeSize);
        Assert.AreEqual(632, PretrainedWeights.RecipeFor(WeightFormat.TimmTensorFlow, EfficientNetVariant.B7).ResizeSize);
        // Not published: the rule, ⌊crop / 0.875⌋ at the native resolution, for every format.
        var custom = EfficientNetVariant.FromPhi(1);
        foreach (var format in Enum.GetValues<WeightFormat>())
            Assert.AreEqual(PreprocessingRecipe.Centered(custom.Resolution, 0.875), PretrainedWeights.RecipeFor(format, custom));
        Assert.AreEqual(0.875, PreprocessingRecipe.DefaultCropFraction);
        Assert.AreEqual(256, PreprocessingRecipe.Centered(224).ResizeSize);
    }

    [TestMethod]
    public void EpsAndPaddingPerEntry()
    {
        for (int i = 0; i < B0ToB7.Count; i++)
        {
            var v = B0ToB7[i];
            var expected = i < 5
                ? new WeightSource(WeightFormat.TorchVision, PaddingMode.Symmetric, 1e-5, 0.1)
                : new WeightSource(WeightFormat.TorchVision, PaddingMode.Symmetric, 1e-3, 0.01);
            Assert.AreEqual(expected, WeightSource.For(WeightFormat.TorchVision, v), v.Name);
            Assert.AreEqual(expected, PretrainedWeights.Find(WeightFormat.TorchVision, v)!.Source);
            Assert.AreEqual(new WeightSource(WeightFormat.LukeMelas, PaddingMode.TensorFlowSame, 1e-3, 0.01), WeightSource.For(WeightFormat.LukeMelas, v));
            Assert.AreEqual(new WeightSource(WeightFormat.Timm, PaddingMode.Symmetric, 1e-5, 0.1), WeightSource.For(WeightFormat.Timm, v));
            Assert.AreEqual(new WeightSource(WeightFormat.TimmTensorFlow, PaddingMode.TensorFlowSame, 1e-3, 0.1), WeightSource.For(WeightFormat.TimmTensorFlow, v));
        }
        var custom = EfficientNetVariant.FromPhi(1);
        Assert.AreEqual(1e-5, WeightSource.For(WeightFormat.TorchVision, custom).BatchNormEpsilon);
        Assert.AreEqual(1e-3, WeightSource.For(WeightFormat.LukeMelas, custom).BatchNormEpsilon);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => WeightSource.For((WeightFormat)99, EfficientNetVariant.B0));
    }

    [TestMethod]
    public void PublishedAccuracy()
    {
        for (int i = 0; i < B0ToB7.Count; i++)
        {
            var torchvision = PretrainedWeights.Find(WeightFormat.TorchVision, B0ToB7[i])!;
            Assert.AreEqual(TorchvisionTop1[i], torchvision.Top1);
            Assert.AreEqual(TorchvisionTop5[i], torchvision.Top5);
            var timm = PretrainedWeights.Find(WeightFormat.TimmTensorFlow, B0ToB7[i])!;
            Assert.AreEqual(TimmTop1[i], timm.Top1);
            Assert.IsNull(timm.Top5);
            Assert.IsNull(PretrainedWeights.Find(WeightFormat.LukeMelas, B0ToB7[i])!.Top1);
        }
        Assert.AreEqual(77.692, PretrainedWeights.Torchvision(EfficientNetVariant.B0).Top1);
        Assert.AreEqual(84.122, PretrainedWeights.Torchvision(EfficientNetVariant.B7).Top1);
    }

    [TestMethod]
    public void TorchvisionIsTheTableEntryAtTheConfiguredAddress()
    {
        string? before = Environment.GetEnvironmentVariable(PretrainedWeights.BaseUrlVariable);
        try
        {
            Environment.SetEnvironmentVariable(PretrainedWeights.BaseUrlVariable, null);
            var entry = PretrainedWeights.Find(WeightFormat.TorchVision, EfficientNetVariant.B3)!;
            Assert.AreEqual(entry, PretrainedWeights.Torchvision(EfficientNetVariant.B3));
            Assert.AreEqual("https://download.pytorch.org/models/efficientnet_b3_rwightman-b3899882.pth", entry.Url.ToString());
            Environment.SetEnvironmentVariable(PretrainedWeights.BaseUrlVariable, "http://mirror.local/models");
            var mirrored = PretrainedWeights.Torchvision(EfficientNetVariant.B3);
            Assert.AreEqual("http://mirror.local/models/efficientnet_b3_rwightman-b3899882.pth", mirrored.Url.ToString());
            Assert.AreEqual(entry with { Url = mirrored.Url }, mirrored);
        }
        finally
        {
            Environment.SetEnvironmentVariable(PretrainedWeights.BaseUrlVariable, before);
        }
        var error = Assert.ThrowsExactly<ArgumentException>(() => PretrainedWeights.Torchvision(EfficientNetVariant.FromPhi(1)));
        StringAssert.Contains(error.Message, "phi-1");
    }

    [TestMethod]
    public void AUserBuiltRecordGetsTheFormatsConventions()
    {
        var own = new PretrainedWeights(EfficientNetVariant.B3, "b3.pth", new Uri("http://127.0.0.1:9/b3.pth"), "", WeightFormat.LukeMelas);
        Assert.AreEqual(PretrainedWeights.RecipeFor(WeightFormat.LukeMelas, EfficientNetVariant.B3), own.Preprocessing);
        Assert.AreEqual(WeightSource.For(WeightFormat.LukeMelas, EfficientNetVariant.B3), own.Source);
        Assert.IsNull(own.Top1);
        Assert.IsFalse(own.HasDigest);
        var recipe = PreprocessingRecipe.Centered(200, 1.0);
        Assert.AreEqual(recipe, (own with { Preprocessing = recipe }).Preprocessing);
    }
}
