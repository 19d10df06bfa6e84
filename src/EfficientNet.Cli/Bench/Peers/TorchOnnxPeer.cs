using EfficientNet.Cli.Bench.Measuring;
using Microsoft.ML.EfficientNet.Onnx;
using Microsoft.ML.EfficientNet.Preprocessing;
using Microsoft.ML.EfficientNet.Weights;

namespace EfficientNet.Cli.Bench.Peers;

/// <summary>
/// Graph against graph: our <c>--bare</c> file and <c>torch.onnx.export</c>'s of torchvision's model (from
/// <see cref="TorchPeer"/>), exported from the same weights and both taking normalised pixels, under the same session
/// settings, so that only what is in the file counts.
/// </summary>
internal static class TorchOnnxPeer
{
    /// <summary>Our <c>--bare</c> file's rows.</summary>
    public const string BareGroup = "our --bare ONNX, normalised pixels";

    /// <summary><c>torch.onnx.export</c>'s file's rows.</summary>
    public const string TorchOnnxGroup = "torch.onnx.export's ONNX, normalised pixels";

    /// <summary>
    /// Adds a row per file and setting: <paramref name="weights"/> exported <c>--bare</c>, and <paramref name="torchOnnxPath"/>,
    /// each scoring <paramref name="count"/> images of <paramref name="pixels"/> normalised by <paramref name="recipe"/>.
    /// </summary>
    public static void Add(TimedRows rows, EfficientNetCheckpoint weights, int resolution, PreprocessingRecipe recipe, float[] pixels, int count,
        string torchOnnxPath, IReadOnlyList<OnnxRuntimeSetting> grid)
    {
        byte[] bare = EfficientNetOnnxExporter.Export(weights, new OnnxExportOptions { Bare = true, Resolution = resolution });
        int rawLength = 3 * recipe.ResizeSize * recipe.ResizeSize, cropLength = 3 * recipe.CropSize * recipe.CropSize;
        var normalized = new float[count * cropLength];
        for (int i = 0; i < count; i++) recipe.Normalize(pixels.AsSpan(i * rawLength, rawLength), normalized.AsSpan(i * cropLength, cropLength));
        rows.AddSessions(BareGroup, bare, OnnxExportOptions.LogitsOutputName, normalized, count, grid);
        rows.AddSessions(TorchOnnxGroup, File.ReadAllBytes(torchOnnxPath), OnnxExportOptions.LogitsOutputName, normalized, count, grid);
    }
}
