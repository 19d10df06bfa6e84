using Microsoft.ML.EfficientNet.Onnx;

namespace Microsoft.ML.EfficientNet.Tests.Onnx;

/// <summary>
/// The public export from a weights file: the variant comes from the file's shapes, the ONNX model records it, and an
/// output that is the checkpoint itself (under any name) is refused before anything is written.
/// </summary>
[TestClass]
public sealed class ExportFromFileTests
{
    [TestMethod]
    public void ExportsTheVariantTheShapesNameAndRefusesToOverwriteTheCheckpoint()
    {
        using var dir = new TemporaryDirectory();
        string weights = Path.Combine(dir.Path, "b0.pth");
        File.Copy(Fixtures.Generated("b0.torchvision.pth"), weights);
        byte[] original = File.ReadAllBytes(weights);

        string onnx = Path.Combine(dir.Path, "b0.onnx");
        EfficientNetOnnxExporter.Export(weights, onnx, new OnnxExportOptions { Resolution = 32 });
        var metadata = OnnxModelMetadata.Read(onnx);
        Assert.AreEqual("b0", metadata.Variant);
        Assert.AreEqual(1000, metadata.NumClasses);

        // The same file through a link and through "..": refused, the checkpoint untouched.
        string link = Path.Combine(dir.Path, "link.pth");
        File.CreateSymbolicLink(link, weights);
        foreach (string output in (string[])[weights, link, Path.Combine(dir.Path, "sub", "..", "b0.pth")])
        {
            var error = Assert.ThrowsExactly<ArgumentException>(() => EfficientNetOnnxExporter.Export(weights, output));
            StringAssert.Contains(error.Message, "is the checkpoint being read");
        }
        CollectionAssert.AreEqual(original, File.ReadAllBytes(weights), "the checkpoint is unchanged");
    }
}
