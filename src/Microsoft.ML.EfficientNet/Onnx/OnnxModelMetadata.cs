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
        using var stream = File.OpenRead(path);
        return Parse(stream, path);
    }

    /// <summary>Reads the metadata of ONNX bytes written by <see cref="EfficientNetOnnxExporter"/>.</summary>
    /// <param name="model">The ONNX model bytes.</param>
    public static OnnxModelMetadata Read(byte[] model)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var stream = new MemoryStream(model, writable: false);
        return Parse(stream, "the ONNX model");
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
        var p = model.MetadataProps.ToDictionary(e => e.Key, e => e.Value);
        string Get(string key) => p.TryGetValue(key, out var v) ? v
            : throw new InvalidDataException($"{source} has no '{key}' in its metadata_props: it was not exported by EfficientNetML (efficientnet export).");
        var c = CultureInfo.InvariantCulture;
        var recipe = new PreprocessingRecipe(int.Parse(Get("resize_size"), c), int.Parse(Get("crop_size"), c),
            RgbValues.Parse(Get("mean")), RgbValues.Parse(Get("std")),
            p.TryGetValue("interpolation", out var i) && i == "bilinear" ? ResizeInterpolation.Bilinear : ResizeInterpolation.Bicubic);
        return new OnnxModelMetadata(Get("variant"), int.Parse(Get("num_classes"), c), int.Parse(Get("feature_width"), c), recipe,
            Get("input_format") == "normalized",
            p.TryGetValue("labels", out var labels) ? JsonSerializer.Deserialize<string[]>(labels) : null,
            Get("weight_source"), Get("weight_file"), Get("weight_sha256"),
            Get("padding") == "tf-same" ? PaddingMode.TensorFlowSame : PaddingMode.Symmetric, double.Parse(Get("bn_eps"), c));
    }
}
