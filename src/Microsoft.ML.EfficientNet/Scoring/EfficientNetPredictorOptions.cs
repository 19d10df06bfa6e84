using Microsoft.Extensions.Logging;
using Microsoft.ML.Data;
using Microsoft.ML.EfficientNet.Explain;

namespace Microsoft.ML.EfficientNet.Scoring;

/// <summary>Options of <see cref="EfficientNetPredictor"/>. Every property has a documented default.</summary>
public sealed class EfficientNetPredictorOptions
{
    /// <summary>Default values of the options.</summary>
    internal static class Defaults
    {
        /// <summary>Images scored per ONNX Runtime call.</summary>
        public const int BatchSize = 16;

        /// <summary>Classes reported per image.</summary>
        public const int Top = 5;
    }

    /// <summary>Images scored per ONNX Runtime call when several are predicted at once. Default <see cref="Defaults.BatchSize"/>.</summary>
    public int BatchSize { get; set; } = Defaults.BatchSize;

    /// <summary>Threads ONNX Runtime uses inside one operator. Default null: ONNX Runtime's own choice.</summary>
    public int? IntraOpThreads { get; set; }

    /// <summary>GPU to score on through ONNX Runtime's CUDA provider (the app must reference <c>Microsoft.ML.OnnxRuntime.Gpu</c>). Default null: CPU.</summary>
    public int? GpuDeviceId { get; set; }

    /// <summary>When <see cref="GpuDeviceId"/> is set and CUDA cannot be used: true scores on the CPU with a warning; false (default) throws.</summary>
    public bool FallbackToCpu { get; set; }

    /// <summary>
    /// Receives warnings (GPU fallback, unreadable images, the first EXIF orientation not applied, and, once, class
    /// activation maps too coarse to show anything: <see cref="ClassActivationMap.Warning"/>). Default null: nothing is logged.
    /// </summary>
    public ILogger? Logger { get; set; }

    /// <summary>
    /// For image files: apply EXIF orientations 2–8 before the resize, as
    /// <see cref="EfficientNetFeaturizerOptions.ApplyExifOrientation"/> does. Default false: the stored pixels, as ML.NET's
    /// <c>LoadImages</c> and a saved model see them (the first file whose orientation is not 1 is logged as a warning).
    /// Not applied to an <see cref="MLImage"/> given directly, which is already decoded.
    /// </summary>
    public bool ApplyExifOrientation { get; set; } = EfficientNetFeaturizerOptions.Defaults.ApplyExifOrientation;

    /// <summary>
    /// For image files and encoded bytes: the largest width × height an image may claim in its header; a larger one is
    /// that row's error, before any pixel memory is allocated. Default <see cref="EfficientNetFeaturizerOptions.Defaults.MaxImagePixels"/>.
    /// </summary>
    public long MaxImagePixels { get; set; } = EfficientNetFeaturizerOptions.Defaults.MaxImagePixels;
}
