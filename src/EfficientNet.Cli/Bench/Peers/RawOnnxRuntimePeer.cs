using EfficientNet.Cli.Bench.Measuring;
using Microsoft.ML.EfficientNet.Onnx;

namespace EfficientNet.Cli.Bench.Peers;

/// <summary>
/// Raw ONNX Runtime on prepared pixels (the featurizer's own preprocessing, done beforehand), over the fp32 model and its
/// int8 quantisation, at each setting of <see cref="OnnxRuntimeSetting.Grid"/>: inference alone, the bound the featurizer
/// is measured against.
/// </summary>
internal static class RawOnnxRuntimePeer
{
    /// <summary>The fp32 model's rows.</summary>
    public const string Fp32Group = "raw ONNX Runtime, prepared pixels";

    /// <summary>The int8 model's rows.</summary>
    public const string Int8Group = "raw ONNX Runtime int8, prepared pixels";

    /// <summary>Adds a row per model and setting, scoring <paramref name="count"/> images of <paramref name="pixels"/>.</summary>
    public static void Add(TimedRows rows, byte[] fp32, byte[] int8, float[] pixels, int count, IReadOnlyList<OnnxRuntimeSetting> grid)
    {
        rows.AddSessions(Fp32Group, fp32, OnnxExportOptions.FeaturesOutputName, pixels, count, grid);
        rows.AddSessions(Int8Group, int8, OnnxExportOptions.FeaturesOutputName, pixels, count, grid);
    }
}
