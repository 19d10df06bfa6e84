using System.Buffers.Binary;
using System.IO.Compression;
using Microsoft.ML.EfficientNet.Weights;

namespace Microsoft.ML.EfficientNet.Onnx;

/// <summary>
/// The ONNX model inside a <c>model.zip</c> that ML.NET's <c>Model.Save</c> wrote for a pipeline of this library (the
/// trainer's or the featurizer's scoring chain): ML.NET's ONNX transform keeps its model as an entry named
/// <c>…/OnnxModel</c>, a 32-bit length and the model's bytes. With it, <c>predict</c>, <c>evaluate</c> and <c>quantize</c>
/// take the zip an app saved as they take the <c>model.onnx</c> it came from.
/// </summary>
internal static class MLNetModelZip
{
    private const string OnnxEntryName = "OnnxModel";

    /// <summary>
    /// The EfficientNetML ONNX model inside <paramref name="path"/>, a zip file; null when the zip is not an ML.NET model
    /// (a torch checkpoint is a zip too).
    /// </summary>
    /// <exception cref="InvalidDataException">It is an ML.NET model, but none of its ONNX models was exported by EfficientNetML, or an entry is damaged; the message names the file.</exception>
    public static byte[]? TryReadOnnx(string path)
    {
        using var zip = ZipFile.OpenRead(path);
        if (zip.GetEntry("TrainingInfo/Version.txt") is null && !zip.Entries.Any(e => e.Name == OnnxEntryName)) return null;
        var entries = zip.Entries.Where(e => e.Name == OnnxEntryName).OrderBy(e => e.FullName, StringComparer.Ordinal).ToList();
        foreach (var entry in entries)
        {
            byte[] stored = TorchCheckpointReader.ReadAll(entry, path);
            int length = stored.Length >= 4 ? BinaryPrimitives.ReadInt32LittleEndian(stored) : -1;
            if (length != stored.Length - 4)
                throw new InvalidDataException($"Entry '{entry.FullName}' of '{path}' is damaged: it declares a {length}-byte ONNX model in {stored.Length - 4} bytes.");
            byte[] model = stored[4..];
            try
            {
                var metadata = OnnxModelMetadata.Read(model, $"'{path}'");
                return OnnxModelEditing.AsExportedClassifier(model, metadata.NumClasses);
            }
            catch (InvalidDataException)
            {
                // Another ONNX model of the pipeline (not ours): look further.
            }
        }
        throw new InvalidDataException($"'{path}' is an ML.NET model, but none of its {entries.Count} ONNX models was exported by EfficientNetML; " +
            $"give the .onnx file (or run folder) the pipeline was built from.");
    }
}
