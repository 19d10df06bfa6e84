using Microsoft.ML.EfficientNet.Preprocessing;

namespace Microsoft.ML.EfficientNet.Onnx;

/// <summary>Which outputs an exported model has.</summary>
[Flags]
public enum OnnxOutputs
{
    /// <summary><c>logits</c> [N, classes].</summary>
    Logits = 1,

    /// <summary><c>features</c> [N, head channels]: the pooled features before dropout and the classifier.</summary>
    Features = 2,

    /// <summary>Both outputs.</summary>
    LogitsAndFeatures = Logits | Features,
}

/// <summary>Options of <see cref="EfficientNetOnnxExporter"/>.</summary>
public sealed class OnnxExportOptions
{
    /// <summary>Name of the raw-image input of a model with in-graph preprocessing.</summary>
    public const string ImageInputName = "image";

    /// <summary>Name of the normalised input of a bare model.</summary>
    public const string NormalizedInputName = "input";

    /// <summary>Name of the logits output.</summary>
    public const string LogitsOutputName = "logits";

    /// <summary>Name of the pooled-features output.</summary>
    public const string FeaturesOutputName = "features";

    /// <summary>Outputs of the model. Default <see cref="OnnxOutputs.Logits"/>.</summary>
    public OnnxOutputs Outputs { get; set; } = OnnxOutputs.Logits;

    /// <summary>
    /// False (default): the model takes raw planar RGB 0–255 at the recipe's resize size, <c>image</c> [N, 3, R, R], and
    /// divides by 255, normalises per channel and centre-crops in the graph (what ML.NET's <c>ResizeImages</c> +
    /// <c>ExtractPixels</c> produce). True: the model has exactly one input, <c>input</c> [N, 3, H, W] float32 already
    /// normalised, and one output, <c>logits</c> [N, classes].
    /// </summary>
    public bool Bare { get; set; }

    /// <summary>
    /// The preprocessing to build in (and record in metadata). Default null: the checkpoint's
    /// (<see cref="Weights.EfficientNetCheckpoint.Preprocessing"/>): the recipe its file records, else its source's published recipe.
    /// </summary>
    public PreprocessingRecipe? Preprocessing { get; set; }

    /// <summary>
    /// Network input side in pixels (the crop size). Default null: the recipe's crop size. Setting it keeps the recipe's
    /// crop fraction; the network accepts any size, but accuracy is best near the variant's native resolution.
    /// </summary>
    public int? Resolution { get; set; }

    /// <summary>
    /// Class labels recorded in metadata, in logit order. Default null: those the weights file records
    /// (<see cref="Weights.EfficientNetCheckpoint.Labels"/>) when logits are exported, else none.
    /// </summary>
    public IReadOnlyList<string>? Labels { get; set; }
}
