using System.Globalization;
using System.Text.Json;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Preprocessing;
using Onnx;

namespace Microsoft.ML.EfficientNet.Onnx;

/// <summary>
/// What an exported model records in its ONNX <c>metadata_props</c>: enough to score it correctly without this
/// library's source (variant, resize and crop sizes, mean and std, labels) and to trace it to its weights (source, file,
/// SHA-256). Keys are plain strings; values are invariant-culture text, labels a JSON array.
/// </summary>
/// <param name="Variant">Variant name, for example <c>b0</c>.</param>
/// <param name="NumClasses">Classifier outputs.</param>
/// <param name="FeatureWidth">Pooled feature width (head channels).</param>
/// <param name="Preprocessing">Resize, crop, mean and std the model expects (built in unless <paramref name="Bare"/>).</param>
/// <param name="Bare">True when the model takes normalised input and does no preprocessing itself.</param>
/// <param name="Labels">Class labels in logit order, or null.</param>
/// <param name="WeightSource">Weight format name: torchvision, lukemelas, timm, timm-tf.</param>
/// <param name="WeightFile">File name of the weights.</param>
/// <param name="WeightSha256">SHA-256 of the weights file (lowercase hex).</param>
/// <param name="Padding">Convolution padding the weights were trained with.</param>
/// <param name="BatchNormEpsilon">Batch-norm ε folded into the convolutions.</param>
internal sealed record OnnxModelMetadata(string Variant, int NumClasses, int FeatureWidth, PreprocessingRecipe Preprocessing, bool Bare,
    IReadOnlyList<string>? Labels, string WeightSource, string WeightFile, string WeightSha256, PaddingMode Padding, double BatchNormEpsilon)
{
    /// <summary>Network input side in pixels (the crop size).</summary>
    public int Resolution => Preprocessing.CropSize;

    /// <summary>Side of the square the model's input must have: the resize size, or the crop size for a bare model.</summary>
    public int InputSize => Bare ? Preprocessing.CropSize : Preprocessing.ResizeSize;

    /// <summary>The key/value pairs written to <c>metadata_props</c>.</summary>
    public IEnumerable<KeyValuePair<string, string>> ToProperties()
    {
        var c = CultureInfo.InvariantCulture;
        yield return new("variant", Variant);
        yield return new("num_classes", NumClasses.ToString(c));
        yield return new("feature_width", FeatureWidth.ToString(c));
        yield return new("resolution", Resolution.ToString(c));
        yield return new("resize_size", Preprocessing.ResizeSize.ToString(c));
        yield return new("crop_size", Preprocessing.CropSize.ToString(c));
        yield return new("mean", Preprocessing.Mean.ToString());
        yield return new("std", Preprocessing.Std.ToString());
        yield return new("interpolation", Preprocessing.Interpolation.ToString().ToLowerInvariant());
        yield return new("input_format", Bare ? "normalized" : "rgb-planar-0-255");
        if (Labels is not null) yield return new("labels", JsonSerializer.Serialize(Labels));
        yield return new("weight_source", WeightSource);
        yield return new("weight_file", WeightFile);
        yield return new("weight_sha256", WeightSha256);
        yield return new("padding", Padding == PaddingMode.TensorFlowSame ? "tf-same" : "symmetric");
        yield return new("bn_eps", BatchNormEpsilon.ToString("R", c));
    }

    /// <summary>Reads the metadata of an ONNX file written by <see cref="EfficientNetOnnxExporter"/>.</summary>
    /// <param name="path">The .onnx file.</param>
    /// <exception cref="InvalidDataException">The file is not ONNX or was not written by this library (names the missing key).</exception>
    public static OnnxModelMetadata Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        IO.FileStat.RequireRegular(path, "model");
        using var stream = File.OpenRead(path);
        return Parse(stream, $"'{path}'");
    }

    /// <summary>Reads the metadata of ONNX bytes written by <see cref="EfficientNetOnnxExporter"/>.</summary>
    /// <param name="model">The ONNX model bytes.</param>
    public static OnnxModelMetadata Read(byte[] model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Read(model, "the ONNX model");
    }

    /// <summary>Reads the metadata of ONNX bytes, naming <paramref name="source"/> in errors.</summary>
    /// <param name="model">The ONNX model bytes.</param>
    /// <param name="source">Where the bytes came from, as errors name it (a quoted file name).</param>
    /// <exception cref="InvalidDataException">The bytes are not ONNX, or a metadata key is missing or damaged; the message names <paramref name="source"/> and the key.</exception>
    public static OnnxModelMetadata Read(byte[] model, string source)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var stream = new MemoryStream(model, writable: false);
        return Parse(stream, source);
    }

    private static OnnxModelMetadata Parse(Stream stream, string source)
    {
        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(stream);
        }
        catch (Google.Protobuf.InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"{source} is not a valid ONNX model ({e.Message}).", e);
        }
        // A key may appear twice in a damaged or forged file; the last one wins, as ONNX Runtime's lookup does.
        var p = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in model.MetadataProps) p[entry.Key] = entry.Value;
        string Get(string key) => p.TryGetValue(key, out var v) ? v
            : throw new InvalidDataException($"{source} has no '{key}' in its metadata_props: it was not exported by EfficientNetML (efficientnet export).");
        InvalidDataException Damaged(string key, string expected) =>
            new($"{source} has a damaged '{key}' in its metadata_props: '{Shorten(p[key])}' is not {expected}.");
        int Int(string key, int min, int max) =>
            int.TryParse(Get(key), NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v >= min && v <= max ? v
                : throw Damaged(key, string.Create(CultureInfo.InvariantCulture, $"a whole number from {min} to {max:N0}"));
        RgbValues Rgb(string key, bool positive)
        {
            try
            {
                var v = RgbValues.Parse(Get(key));
                if (v.ToArray().All(x => float.IsFinite(x) && (!positive || x > 0))) return v;
            }
            catch (FormatException)
            {
            }
            throw Damaged(key, positive ? "one or three finite numbers > 0" : "one or three finite numbers");
        }
        // A resize side above the crop side is what a crop fraction below 1 gives.
        int resize = Int("resize_size", PreprocessingRecipe.MinimumInputSize, 4 * PreprocessingRecipe.MaximumInputSize);
        int crop = Int("crop_size", PreprocessingRecipe.MinimumInputSize, PreprocessingRecipe.MaximumInputSize);
        var recipe = new PreprocessingRecipe(resize, crop, Rgb("mean", positive: false), Rgb("std", positive: true),
            p.TryGetValue("interpolation", out var i) && i == "bilinear" ? ResizeInterpolation.Bilinear : ResizeInterpolation.Bicubic);
        int classes = Int("num_classes", 1, MaximumClasses);
        string[]? labels = null;
        if (p.TryGetValue("labels", out var labelsText))
        {
            try
            {
                labels = JsonSerializer.Deserialize<string[]>(labelsText);
            }
            catch (JsonException)
            {
            }
            if (labels is null || labels.Any(l => l is null)) throw Damaged("labels", "a JSON array of strings");
            if (labels.Length != classes)
                throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                    $"{source} has {labels.Length} 'labels' in its metadata_props for {classes} classes ('num_classes'); each output needs one label."));
        }
        double eps = double.TryParse(Get("bn_eps"), NumberStyles.Float, CultureInfo.InvariantCulture, out double epsilon) && double.IsFinite(epsilon) && epsilon > 0 && epsilon < 1 ? epsilon
            : throw Damaged("bn_eps", "a number in (0, 1)");
        return new OnnxModelMetadata(Get("variant"), classes, Int("feature_width", 1, MaximumClasses), recipe,
            Get("input_format") == "normalized", labels,
            Get("weight_source"), Get("weight_file"), Get("weight_sha256"),
            Get("padding") == "tf-same" ? PaddingMode.TensorFlowSame : PaddingMode.Symmetric, eps);
    }

    /// <summary>
    /// The most classes (and feature channels) a model may have, 1,000,000: far above any classifier, far below what
    /// allocation could not survive. Metadata and flags claiming more are refused.
    /// </summary>
    public const int MaximumClasses = 1_000_000;

    private static string Shorten(string value) => value.Length <= 40 ? value : value[..40] + "…";
}
