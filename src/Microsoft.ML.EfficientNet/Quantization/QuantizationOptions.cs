using Microsoft.Extensions.Logging;

namespace Microsoft.ML.EfficientNet.Quantization;

/// <summary>How the range of each quantised activation is chosen from the calibration images.</summary>
internal enum CalibrationMethod
{
    /// <summary>The smallest and largest value seen: nothing is clipped, but one outlier widens every step.</summary>
    MinMax,

    /// <summary>Each tail clipped at <see cref="QuantizationOptions.Percentile"/> of the values seen.</summary>
    Percentile,

    /// <summary>The clipping point that keeps the quantised histogram closest to the float one (least KL divergence,
    /// per side of zero).</summary>
    Entropy,
}

/// <summary>Which layers of an EfficientNet run as int8 kernels; the rest stay float between dequantise/quantise pairs.</summary>
[Flags]
internal enum QuantizedLayers
{
    /// <summary>Nothing is quantised.</summary>
    None = 0,

    /// <summary>The stem, expansion, depthwise, projection and head convolutions (almost all of the arithmetic).</summary>
    Convolutions = 1,

    /// <summary>The activation after each convolution: SiLU (Sigmoid and Mul), or ReLU6 (Clip) in Lite.</summary>
    Activations = 2,

    /// <summary>The squeeze-and-excitation branch: pooling, its two 1×1 convolutions, SiLU and gate, and the channel scaling.</summary>
    SqueezeExcitation = 4,

    /// <summary>The residual additions.</summary>
    Residuals = 8,

    /// <summary>The final global average pooling and the classifier.</summary>
    Head = 16,

    /// <summary>Every layer above.</summary>
    All = Convolutions | Activations | SqueezeExcitation | Residuals | Head,
}

/// <summary>Options of <see cref="EfficientNetQuantizer"/>: calibration images, range method and which layers go int8.</summary>
public sealed class QuantizationOptions
{
    /// <summary>Default values of the options.</summary>
    internal static class Defaults
    {
        /// <summary>Calibration images used at most (the first ones of the set, spread over its classes).</summary>
        public const int CalibrationImages = 256;

        /// <summary>Range method. Chosen by measurement on Fashion-MNIST models (docs/QUANTIZATION.md): entropy clips the
        /// long tails of the convolution outputs that min-max and percentile keep.</summary>
        internal const CalibrationMethod Method = CalibrationMethod.Entropy;

        /// <summary>Percentile of each tail kept by <see cref="CalibrationMethod.Percentile"/>, in percent.</summary>
        public const double Percentile = 99.999;

        /// <summary>
        /// Layers run as int8: all but the head. Chosen by measurement (docs/QUANTIZATION.md): squeeze-and-excitation in
        /// int8 costs no accuracy and removes the layout changes a float branch forces between int8 layers; the head
        /// (final pooling and classifier) is a sliver of the time and stays float, so class activation maps can read its
        /// weights.
        /// </summary>
        internal const QuantizedLayers Layers = QuantizedLayers.Convolutions | QuantizedLayers.Activations | QuantizedLayers.SqueezeExcitation | QuantizedLayers.Residuals;

        /// <summary>Images per ONNX Runtime call while calibrating.</summary>
        public const int BatchSize = 8;

        /// <summary>
        /// Percentage points of accuracy the int8 model may lose on the held-out images before layers fall back to float
        /// (top-1 disagreement with the float model when the images carry no labels of the model's classes).
        /// </summary>
        public const double MaxAccuracyDrop = 1.0;

        /// <summary>Images held out of calibration, at most, to measure the int8 model against the float one.</summary>
        public const int HeldOutImages = 1000;

        /// <summary>
        /// Bits of the int8 weights: 7 (values −63…63). x86 CPUs without VNNI (AVX2, AVX-512 before VNNI) multiply uint8
        /// activations by int8 weights with an instruction that sums pairs of products into 16 bits and saturates when
        /// both are large; 7-bit weights cannot saturate it, so the file scores the same on every x86 CPU. Measured in
        /// docs/QUANTIZATION.md.
        /// </summary>
        public const int WeightBits = 7;
    }

    /// <summary>Calibration images used at most; default <see cref="Defaults.CalibrationImages"/>.</summary>
    public int CalibrationImages { get; set; } = Defaults.CalibrationImages;

    /// <summary>How activation ranges are chosen; default <see cref="Defaults.Method"/>.</summary>
    internal CalibrationMethod Method { get; set; } = Defaults.Method;

    /// <summary>For <see cref="CalibrationMethod.Percentile"/>: the share of each tail's values kept, in percent (50–100);
    /// default <see cref="Defaults.Percentile"/>.</summary>
    public double Percentile { get; set; } = Defaults.Percentile;

    /// <summary>Layers run as int8; default <see cref="Defaults.Layers"/>.</summary>
    internal QuantizedLayers Layers { get; set; } = Defaults.Layers;

    /// <summary>Images per ONNX Runtime call while calibrating and checking; default <see cref="Defaults.BatchSize"/>.</summary>
    public int BatchSize { get; set; } = Defaults.BatchSize;

    /// <summary>
    /// Percentage points of accuracy the int8 model may lose against the float model on the held-out images; default
    /// <see cref="Defaults.MaxAccuracyDrop"/>. When the drop is larger, layers fall back to float one by one, most
    /// sensitive first, until it is within this bound (or half of them are float: the report then says it could not be
    /// met). Needs a model with a <c>logits</c> output; with labels of the model's classes the drop is accuracy, else top-1
    /// disagreement with the float model.
    /// </summary>
    public double MaxAccuracyDrop { get; set; } = Defaults.MaxAccuracyDrop;

    /// <summary>
    /// Images of the calibration set held out of calibration to measure the int8 model, at most; default
    /// <see cref="Defaults.HeldOutImages"/>. They are the images after the first <see cref="CalibrationImages"/>; a set
    /// with no more images than that gives a quarter of them. 0 measures on the calibration images and searches nothing.
    /// Models without a <c>logits</c> output hold nothing out.
    /// </summary>
    public int HeldOutImages { get; set; } = Defaults.HeldOutImages;

    /// <summary>Bits of the quantised weights, 7 or 8; default <see cref="Defaults.WeightBits"/>.</summary>
    public int WeightBits { get; set; } = Defaults.WeightBits;

    /// <summary>Receives warnings about calibration images that cannot be read (they are skipped). Default none.</summary>
    public ILogger? Logger { get; set; }

    internal void Check()
    {
        if (CalibrationImages < 1) throw new ArgumentOutOfRangeException(nameof(CalibrationImages), CalibrationImages, "At least one calibration image is needed.");
        if (BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "At least one image per batch.");
        if (Percentile is < 50 or > 100) throw new ArgumentOutOfRangeException(nameof(Percentile), Percentile, "The percentile is a share in percent between 50 and 100.");
        if (!(MaxAccuracyDrop is >= 0 and <= 100)) throw new ArgumentOutOfRangeException(nameof(MaxAccuracyDrop), MaxAccuracyDrop, "The accuracy drop is in percentage points, between 0 and 100.");
        if (HeldOutImages < 0) throw new ArgumentOutOfRangeException(nameof(HeldOutImages), HeldOutImages, "Held-out images cannot be negative.");
        if (WeightBits is not (7 or 8)) throw new ArgumentOutOfRangeException(nameof(WeightBits), WeightBits, "Weights have 7 or 8 bits.");
        if (Layers == QuantizedLayers.None) throw new ArgumentOutOfRangeException(nameof(Layers), Layers, "Quantise at least one kind of layer.");
    }
}
