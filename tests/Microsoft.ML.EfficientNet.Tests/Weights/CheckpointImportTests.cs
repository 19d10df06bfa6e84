using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Weights;

namespace Microsoft.ML.EfficientNet.Tests.Weights;

[TestClass]
public sealed class CheckpointImportTests
{
    [TestMethod]
    public void KeyMapsReproduceTheReferenceKeyTable()
    {
        // b0-keys.txt lists the real key names of torchvision, lukemelas and timm side by side, with shapes.
        var rows = File.ReadLines(Fixtures.Committed("b0-keys.txt")).Where(l => !l.StartsWith('#')).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();
        var spec = EfficientNetSpec.Create("b0");
        Assert.AreEqual(rows.Count, spec.StateDict.Count);
        for (int i = 0; i < rows.Count; i++)
        {
            var tensor = spec.StateDict[i];
            Assert.AreEqual(rows[i][0], CheckpointKeyMap.KeyFor(tensor, WeightFormat.TorchVision));
            Assert.AreEqual(rows[i][1], CheckpointKeyMap.KeyFor(tensor, WeightFormat.LukeMelas));
            Assert.AreEqual(rows[i][2], CheckpointKeyMap.KeyFor(tensor, WeightFormat.Timm));
            string shape = string.Join("", rows[i][3..]);
            string expected = "(" + string.Join(",", tensor.Shape) + (tensor.Shape.Length == 1 ? ",)" : ")");
            Assert.AreEqual(expected, shape, tensor.Name);
        }
    }

    [TestMethod]
    public void ReadsTorchZipCheckpointsWithEveryKey()
    {
        var stateDict = StateDict.Load(Fixtures.Generated("b0.torchvision.pth"));
        var spec = EfficientNetSpec.Create("b0");
        CollectionAssert.AreEqual(spec.StateDict.Select(t => t.Name).ToArray(), stateDict.Keys.ToArray());
        foreach (var t in spec.StateDict) Assert.IsTrue(stateDict[t.Name].HasShape(t.Shape), t.Name);
        Assert.AreEqual("int64", stateDict["features.0.1.num_batches_tracked"].SourceType);
        Assert.IsTrue(stateDict["features.0.1.num_batches_tracked"].Values[0] >= 1);
    }

    [TestMethod]
    public void PickleAndSafetensorsReadersAgreeBitForBit()
    {
        // The same lukemelas B0 tensors, saved by torch.save and as safetensors by the fixture script.
        var fromPickle = EfficientNetCheckpoint.Load(Fixtures.Generated("b0.lukemelas.pth"), EfficientNetVariant.B0);
        var fromSafetensors = EfficientNetCheckpoint.Load(Fixtures.Generated("b0.lukemelas.safetensors"), EfficientNetVariant.B0);
        Assert.AreEqual(WeightFormat.LukeMelas, fromPickle.Source.Format);
        Assert.AreEqual(WeightFormat.LukeMelas, fromSafetensors.Source.Format);
        Assert.AreEqual(311, fromPickle.Weights.Count);
        Assert.AreEqual(fromPickle.Weights.Count, fromSafetensors.Weights.Count);
        foreach (var (key, tensor) in fromPickle.Weights.Entries)
            CollectionAssert.AreEqual(tensor.Values, fromSafetensors.Weights[key].Values, key);
    }

    [TestMethod]
    public void EachFormatBringsItsPaddingAndEps()
    {
        var tf = EfficientNetCheckpoint.Load(Fixtures.Generated("tf_efficientnet_b3.safetensors"), EfficientNetVariant.B3);
        Assert.AreEqual(new WeightSource(WeightFormat.TimmTensorFlow, PaddingMode.TensorFlowSame, 1e-3, 0.1), tf.Source);

        var luke = EfficientNetCheckpoint.Load(Fixtures.Generated("b0.lukemelas.pth"), EfficientNetVariant.B0);
        Assert.AreEqual(new WeightSource(WeightFormat.LukeMelas, PaddingMode.TensorFlowSame, 1e-3, 0.01), luke.Source);
        // lukemelas releases have no num_batches_tracked: 360 − 49 tensors.
        Assert.AreEqual(311, luke.Weights.Count);

        var timm = EfficientNetCheckpoint.Load(Fixtures.Generated("b1.timm.pth"), EfficientNetVariant.B1);
        Assert.AreEqual(new WeightSource(WeightFormat.Timm, PaddingMode.Symmetric, 1e-5, 0.1), timm.Source);

        var tv7 = WeightSource.For(WeightFormat.TorchVision, EfficientNetVariant.B7);
        Assert.AreEqual(1e-3, tv7.BatchNormEpsilon);
        Assert.AreEqual(1e-5, WeightSource.For(WeightFormat.TorchVision, EfficientNetVariant.B4).BatchNormEpsilon);

        var named = EfficientNetCheckpoint.Load(Fixtures.Generated("b1.timm.pth"), EfficientNetVariant.B1,
            new CheckpointLoadOptions { Format = WeightFormat.TimmTensorFlow });
        Assert.AreEqual(PaddingMode.TensorFlowSame, named.Source.Padding);
    }

    [TestMethod]
    public void CheckpointOfAnotherVariantNamesTheVariantAndTheFirstMismatch()
    {
        var error = Assert.ThrowsExactly<CheckpointMismatchException>(
            () => EfficientNetCheckpoint.Load(Fixtures.Generated("b3.torchvision.pth"), EfficientNetVariant.B0));
        StringAssert.Contains(error.Message, "EfficientNet-b0");
        StringAssert.Contains(error.Message, "it holds EfficientNet-b3 weights");
        StringAssert.Contains(error.Message, "First mismatched tensor: 'features.0.0.weight' expected [32, 3, 3, 3], checkpoint has [40, 3, 3, 3]");
        Assert.IsTrue(error.Unexpected.Count > 0);

        // B1 has B0's widths: its extra blocks show up as unexpected keys, each named.
        var deeper = Assert.ThrowsExactly<CheckpointMismatchException>(
            () => EfficientNetCheckpoint.Load(Fixtures.Generated("b1.torchvision.pth"), EfficientNetVariant.B0));
        StringAssert.Contains(deeper.Message, "it holds EfficientNet-b1 weights");
        CollectionAssert.Contains(deeper.Unexpected.ToList(), "features.1.1.block.0.0.weight");
        StringAssert.Contains(deeper.Message, "features.1.1.block.0.0.weight");
    }

    [TestMethod]
    public void MissingKeysAreListedByName()
    {
        var full = StateDict.Load(Fixtures.Generated("b0.torchvision.pth"));
        var partial = new StateDict(full.Entries.Where(e => !e.Key.StartsWith("features.8.", StringComparison.Ordinal)), "partial");
        var error = Assert.ThrowsExactly<CheckpointMismatchException>(() => EfficientNetCheckpoint.FromStateDict(partial, EfficientNetVariant.B0));
        CollectionAssert.AreEquivalent(new[] { "features.8.0.weight", "features.8.1.weight", "features.8.1.bias", "features.8.1.running_mean", "features.8.1.running_var" },
            error.Missing.ToArray());
        StringAssert.Contains(error.Message, "Missing keys (5)");
    }

    [TestMethod]
    public void HeadIsReplacedOnlyWhenAsked()
    {
        string path = Fixtures.Generated("b0.torchvision.pth");
        var refused = Assert.ThrowsExactly<CheckpointMismatchException>(
            () => EfficientNetCheckpoint.Load(path, EfficientNetVariant.B0, new CheckpointLoadOptions { NumClasses = 10 }));
        StringAssert.Contains(refused.Message, "1000 classes but 10 were asked for");

        var replaced = EfficientNetCheckpoint.Load(path, EfficientNetVariant.B0, new CheckpointLoadOptions { NumClasses = 10, ReplaceHead = true });
        Assert.IsTrue(replaced.HeadReplaced);
        Assert.AreEqual(10, replaced.Spec.NumClasses);
        Assert.IsFalse(replaced.Weights.ContainsKey("classifier.1.weight"));
        Assert.AreEqual(358, replaced.Weights.Count);

        var kept = EfficientNetCheckpoint.Load(path, EfficientNetVariant.B0);
        Assert.AreEqual(1000, kept.Spec.NumClasses);
        Assert.IsFalse(kept.HeadReplaced);
    }

    [TestMethod]
    public void UnexpectedKeysFailOnlyWhenStrict()
    {
        var full = StateDict.Load(Fixtures.Generated("b0.torchvision.pth"));
        var extra = new StateDict(full.Entries.Append(new("aux.weight", new WeightTensor([2], [1f, 2f]))), "extra");
        var error = Assert.ThrowsExactly<CheckpointMismatchException>(() => EfficientNetCheckpoint.FromStateDict(extra, EfficientNetVariant.B0));
        CollectionAssert.AreEqual(new[] { "aux.weight" }, error.Unexpected.ToArray());
        var lenient = EfficientNetCheckpoint.FromStateDict(extra, EfficientNetVariant.B0, new CheckpointLoadOptions { Strict = false });
        Assert.AreEqual(360, lenient.Weights.Count);
    }

    [TestMethod]
    public void DataParallelPrefixIsStripped()
    {
        var full = StateDict.Load(Fixtures.Generated("b0.torchvision.pth"));
        var wrapped = new StateDict(full.Entries.Select(e => new KeyValuePair<string, WeightTensor>("module." + e.Key, e.Value)), "wrapped");
        Assert.AreEqual(360, EfficientNetCheckpoint.FromStateDict(wrapped, EfficientNetVariant.B0).Weights.Count);
    }

    [TestMethod]
    public void IdentifiesTheVariantOfEveryFixture()
    {
        foreach (var c in Fixtures.Cases)
        {
            var format = WeightFormats.Parse(c.Format);
            Assert.AreEqual(c.Variant, EfficientNetCheckpoint.IdentifyVariant(StateDict.Load(Fixtures.Generated(c.Weights)), format)?.Name, c.Weights);
        }
    }

    [TestMethod]
    public void LegacyTorchFilesAreRejectedWithAFix()
    {
        var error = Assert.ThrowsExactly<InvalidDataException>(() => StateDict.Load(Fixtures.Generated("legacy.pth")));
        StringAssert.Contains(error.Message, "legacy (pre-1.6, non-zip)");
        StringAssert.Contains(error.Message, "torch.save");
    }

    [TestMethod]
    public void TruncatedFilesSayTheyAreTruncated()
    {
        using var dir = new TemporaryDirectory();
        foreach (string name in (string[])["b0.torchvision.pth", "tf_efficientnet_b3.safetensors"])
        {
            byte[] bytes = File.ReadAllBytes(Fixtures.Generated(name));
            string cut = Path.Combine(dir.Path, name);
            File.WriteAllBytes(cut, bytes[..(bytes.Length * 2 / 3)]);
            var error = Assert.ThrowsExactly<InvalidDataException>(() => StateDict.Load(cut), name);
            StringAssert.Contains(error.Message, "truncated", name);
            StringAssert.Contains(error.Message, cut, name);
        }
    }

    [TestMethod]
    public void NonCheckpointsAreNamedAsSuch()
    {
        using var dir = new TemporaryDirectory();
        string text = Path.Combine(dir.Path, "notes.pth");
        File.WriteAllText(text, "hello, this is not a checkpoint");
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => StateDict.Load(text)).Message, "neither a torch zip checkpoint");
        Assert.ThrowsExactly<FileNotFoundException>(() => StateDict.Load(Path.Combine(dir.Path, "absent.pth")));
    }

    [TestMethod]
    public void SafetensorsRoundTrip()
    {
        using var dir = new TemporaryDirectory();
        string path = Path.Combine(dir.Path, "w.safetensors");
        var tensors = new[] { new KeyValuePair<string, WeightTensor>("a", new WeightTensor([2, 2], [1, 2, 3, 4])), new("b", new WeightTensor([], [7])) };
        SafeTensorsFile.Write(path, tensors, new Dictionary<string, string> { ["variant"] = "b0" });
        var back = SafeTensorsFile.Read(path);
        CollectionAssert.AreEqual(new[] { "a", "b" }, back.Keys.ToArray());
        CollectionAssert.AreEqual(new float[] { 1, 2, 3, 4 }, back["a"].Values);
        Assert.AreEqual(0, back["b"].Shape.Length);
        Assert.AreEqual("b0", SafeTensorsFile.ReadMetadata(path)["variant"]);
    }
}
