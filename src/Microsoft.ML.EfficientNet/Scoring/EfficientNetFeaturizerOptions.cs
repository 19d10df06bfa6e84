using Microsoft.Extensions.Logging;
using Microsoft.ML.EfficientNet.Quantization;
using Microsoft.ML.Data;
using Microsoft.ML.EfficientNet.Preprocessing;
using Microsoft.ML.EfficientNet.Weights;

namespace Microsoft.ML.EfficientNet.Scoring;

/// <summary>
/// Options of <see cref="EfficientNetFeaturizerEstimator"/>. Every property has a documented default; an options object
/// with nothing set featurizes with torchvision's ImageNet weights from the cache (downloading them once).
/// </summary>
public sealed class EfficientNetFeaturizerOptions
{
    /// <summary>Default values of the options.</summary>
    internal static class Defaults
    {
        /// <summary>Images scored per ONNX Runtime call on the batched path (8 measured best on a 2-core CPU).</summary>
        public const int BatchSize = 8;

        /// <summary>Whether a missing pretrained file may be downloaded.</summary>
        public const bool AllowDownload = true;

        /// <summary>Whether to score on the CPU when the requested GPU cannot be used.</summary>
        public const bool FallbackToCpu = false;

        /// <summary>What an unreadable image produces.</summary>
        public const UnreadableImageHandling UnreadableImages = UnreadableImageHandling.NaNFeatures;

        /// <summary>Whether large JPEGs are decoded at a reduced scale on the batched path (off: results equal the saved chain's).</summary>
        public const bool ReducedScaleJpegDecoding = false;

        /// <summary>Whether EXIF orientation is applied to files of a path column (off: results equal the saved chain's).</summary>
        public const bool ApplyExifOrientation = false;

        /// <summary>Whether exported models are kept on disk under <see cref="CacheDirectory"/> for later processes.</summary>
        public const bool CacheExports = true;

        /// <summary>Largest width × height a file of a path column may claim: <see cref="ImageDecoder.DefaultMaxPixels"/> (100 million).</summary>
        public const long MaxImagePixels = ImageDecoder.DefaultMaxPixels;
    }

    /// <summary>
    /// Weights to use: an <c>.onnx</c> model exported by <c>efficientnet export --features-only</c> (or with
    /// <c>--features</c>), or a checkpoint (<c>.pth</c>, <c>.safetensors</c>) in any supported format. A safetensors file a
    /// training run wrote carries its preprocessing (<see cref="RecipeMetadata"/>), which the features are computed with;
    /// other checkpoints get their published recipe. Default null: the pretrained torchvision weights of the variant, from
    /// <see cref="CacheDirectory"/>, downloaded when missing.
    /// </summary>
    public string? WeightsPath { get; set; }

    /// <summary>Format of a checkpoint in <see cref="WeightsPath"/>. Default null: detected from its key names.</summary>
    public WeightFormat? WeightFormat { get; set; }

    /// <summary>
    /// Folder of downloaded weights, and (in its <c>exports</c> sub-folder, when <see cref="CacheExports"/> is on) of the
    /// ONNX models exported from them. Default null: the <c>EFFICIENTNETML_CACHE</c> environment variable, else a per-user
    /// folder (<c>~/.cache/efficientnetml</c> on Linux).
    /// </summary>
    public string? CacheDirectory { get; set; }

    /// <summary>
    /// Keep the ONNX model exported from checkpoint weights in <see cref="CacheDirectory"/>'s <c>exports</c> sub-folder,
    /// keyed by the weights' SHA-256, the resolution and this library's build, so that a later process fitting the same
    /// weights loads it instead of exporting again (the export is most of <c>Fit</c>'s time: docs/BENCHMARKS.md). The
    /// folder is kept under 2 GB, least recently used first out; each file is checked against the digest in its name
    /// when read. Within one process the last few exports are reused from memory either way. Not used when
    /// <see cref="WeightsPath"/> is already an ONNX file. Default <see cref="Defaults.CacheExports"/>.
    /// </summary>
    public bool CacheExports { get; set; } = Defaults.CacheExports;

    /// <summary>Whether a pretrained file missing from the cache may be downloaded. Default <see cref="Defaults.AllowDownload"/>.</summary>
    public bool AllowDownload { get; set; } = Defaults.AllowDownload;

    /// <summary>
    /// The published file to fetch when <see cref="WeightsPath"/> is null. Default null: the variant's pretrained file
    /// (<see cref="PretrainedWeights.Default"/>: torchvision's, or timm's for Lite). Set it to use a mirror or another
    /// published file.
    /// </summary>
    public PretrainedWeights? Pretrained { get; set; }

    /// <summary>
    /// Seeded random weights instead of pretrained ones, for tests and benchmarks only. Never used unless asked for:
    /// missing weights are an error, not a reason to fall back. Default false.
    /// </summary>
    public bool UseRandomWeights { get; set; }

    /// <summary>Seed of <see cref="UseRandomWeights"/>. Default 0.</summary>
    public int RandomSeed { get; set; }

    /// <summary>
    /// Network input side, in pixels. Default null: the crop size recorded in the weights file, else the one the weights
    /// were published with (224 for B0, 380 for B4 …). Smaller is faster and less accurate; the resize size keeps the
    /// recipe's crop fraction, and the mean and std stay the recipe's. Overriding a recorded size is logged.
    /// </summary>
    public int? Resolution { get; set; }

    /// <summary>
    /// Folder that relative paths in a text input column are resolved against (ML.NET's <c>LoadImages</c> image folder;
    /// it must exist, and a saved model keeps its absolute path). Default null: paths are used as they are. Ignored for an
    /// image input column.
    /// </summary>
    public string? ImageFolder { get; set; }

    /// <summary>
    /// With a text input column (image paths), decode JPEGs on the batched path at the smallest of libjpeg's DCT scales
    /// (1/4, 1/8) whose shorter side still covers the recipe's resize size (256 for B0): a 4000×3000 photo is decoded
    /// at 500×375, which costs a fraction of a full decode. Scales above 1/4 are not used: they moved features further
    /// from torchvision's preprocessing than the full decode (docs/BENCHMARKS.md). The resize that follows then starts from an image already
    /// averaged down by the JPEG decoder, so features differ slightly from the saved chain's, which decodes at full size
    /// with <c>LoadImages</c> (measured in docs/BENCHMARKS.md). Other formats, smaller JPEGs and <see cref="MLImage"/>
    /// input columns (already decoded) are unaffected. Default <see cref="Defaults.ReducedScaleJpegDecoding"/>.
    /// </summary>
    public bool ReducedScaleJpegDecoding { get; set; } = Defaults.ReducedScaleJpegDecoding;

    /// <summary>
    /// With a text input column (image paths), turn each file upright by its EXIF orientation (2–8: mirrored, rotated by
    /// 90°, 180° or 270°, read with SkiaSharp's <c>SKCodec.EncodedOrigin</c>) before the resize, on the batched path. Off by
    /// default, because ML.NET's <c>LoadImages</c> ignores EXIF orientation: off, in-process features equal those of the
    /// saved chain and of prediction engines, and the first file of a pass whose orientation is not 1 is logged as a
    /// warning (once per pass). On, the saved chain and prediction engines still see the stored pixels. Ignored for an
    /// <see cref="MLImage"/> input column: <c>LoadImages</c> has already decoded it, without the orientation.
    /// Default <see cref="Defaults.ApplyExifOrientation"/>.
    /// </summary>
    public bool ApplyExifOrientation { get; set; } = Defaults.ApplyExifOrientation;

    /// <summary>
    /// With a text input column, the largest width × height a file may claim in its header. A larger one is refused before
    /// any pixel memory is allocated (the row's outcome is then <see cref="UnreadableImages"/>, with the file and its
    /// claimed size in the message), so a 100-byte PNG claiming 100000×100000 cannot make the process allocate 40 GB.
    /// Default <see cref="Defaults.MaxImagePixels"/>. Not applied to an <see cref="MLImage"/> column, or by the saved chain
    /// (<c>LoadImages</c> decodes on its own).
    /// </summary>
    public long MaxImagePixels { get; set; } = Defaults.MaxImagePixels;

    /// <summary>
    /// Quantise the model to int8 when fitting, with ranges calibrated on the first
    /// <see cref="QuantizationOptions.CalibrationImages"/> images of the data <c>Fit</c> sees
    /// (<see cref="EfficientNetQuantizer"/>; the saved chain holds the int8 model too). Default null: fp32. The agreement
    /// with the fp32 features is logged and kept in <see cref="EfficientNetFeaturizerTransformer.Quantization"/>.
    /// </summary>
    public QuantizationOptions? Quantization { get; set; }

    /// <summary>Images per ONNX Runtime call on the batched path. Default <see cref="Defaults.BatchSize"/>.</summary>
    public int BatchSize { get; set; } = Defaults.BatchSize;

    /// <summary>
    /// Threads ONNX Runtime uses inside one operator. Default null: 1 when several batches run at once
    /// (<see cref="ConcurrentBatches"/>), else ONNX Runtime's own choice.
    /// </summary>
    public int? IntraOpThreads { get; set; }

    /// <summary>
    /// Batches scored at the same time on the batched path. Default null: one per logical processor on the CPU (whole
    /// batches on separate cores beat ONNX Runtime's intra-operator threading for EfficientNet), one on a GPU.
    /// </summary>
    public int? ConcurrentBatches { get; set; }

    /// <summary>
    /// GPU to score on through ONNX Runtime's CUDA provider (the app must reference <c>Microsoft.ML.OnnxRuntime.Gpu</c>).
    /// Default null: CPU. Not stored in a saved model: ML.NET takes it from the loading context.
    /// </summary>
    public int? GpuDeviceId { get; set; }

    /// <summary>
    /// When <see cref="GpuDeviceId"/> is set and CUDA cannot be used: true scores on the CPU and logs a warning; false
    /// (default) fails with an error naming the cause.
    /// </summary>
    public bool FallbackToCpu { get; set; } = Defaults.FallbackToCpu;

    /// <summary>
    /// What a row whose image cannot be read produces on the batched path: a missing or unreadable file, a file that is
    /// not an image, and for a path column also a truncated file (its data ends before the image does) or one claiming
    /// more than <see cref="MaxImagePixels"/>. Default <see cref="Defaults.UnreadableImages"/>.
    /// </summary>
    public UnreadableImageHandling UnreadableImages { get; set; } = Defaults.UnreadableImages;

    /// <summary>Receives warnings (GPU fallback, unreadable images) and download progress. Default null: nothing is logged.</summary>
    public ILogger? Logger { get; set; }
}

/// <summary>What the featurizer does with a row whose image cannot be read or decoded.</summary>
public enum UnreadableImageHandling
{
    /// <summary>
    /// The row's features are all NaN, a warning naming the row is logged, and the remaining rows are scored: one bad
    /// upload never ends a batch job. Filter with <c>float.IsNaN(features[0])</c> or ML.NET's <c>FilterRowsByMissingValues</c>.
    /// </summary>
    NaNFeatures,

    /// <summary>The error ends the enumeration, as in plain ML.NET.</summary>
    Throw,
}
