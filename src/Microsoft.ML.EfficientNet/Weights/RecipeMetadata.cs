using System.Globalization;
using System.Text.Json;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Preprocessing;

namespace Microsoft.ML.EfficientNet.Weights;

/// <summary>
/// The preprocessing a weights file was trained and evaluated with, stored in its safetensors <c>__metadata__</c> so it
/// travels with the weights (as torchvision's <c>weights.transforms()</c> and timm's <c>pretrained_cfg</c> do): variant,
/// resize and crop sizes, mean, std, interpolation, class labels, and the padding and batch-norm conventions. The one
/// definition of these keys: every weight file a training run writes is written with <see cref="ToMetadata"/>, and
/// <see cref="EfficientNetCheckpoint"/> reads them back with <see cref="FromMetadata"/> (docs/WEIGHTS.md, "Preprocessing
/// recorded in the weights"). Files without the keys (torchvision, timm, lukemelas) keep their published recipes.
/// </summary>
/// <param name="Variant">The variant's name, for example <c>b0</c>.</param>
/// <param name="Preprocessing">Resize, crop, mean, std and interpolation.</param>
internal sealed record RecipeMetadata(string Variant, PreprocessingRecipe Preprocessing)
{
    /// <summary>Marks a file that records a recipe, with the version of these keys' format: <c>efficientnetml_recipe</c> = <c>1</c>.</summary>
    public const string FormatKey = "efficientnetml_recipe";

    /// <summary>The version of the keys' format this library writes and reads.</summary>
    public const string FormatVersion = "1";

    /// <summary>Key of <see cref="Variant"/>: <c>variant</c>.</summary>
    public const string VariantKey = "variant";

    /// <summary>Key of the network input side (the image size, the centre crop's side), in pixels: <c>crop_size</c>.</summary>
    public const string CropSizeKey = "crop_size";

    /// <summary>Key of the shorter side after resizing, in pixels: <c>resize_size</c>.</summary>
    public const string ResizeSizeKey = "resize_size";

    /// <summary>Key of the per-channel mean on the 0–1 scale, <c>R,G,B</c>: <c>mean</c>.</summary>
    public const string MeanKey = "mean";

    /// <summary>Key of the per-channel standard deviation, <c>R,G,B</c>: <c>std</c>.</summary>
    public const string StdKey = "std";

    /// <summary>Key of the resize filter, <c>bicubic</c> or <c>bilinear</c>: <c>interpolation</c>.</summary>
    public const string InterpolationKey = "interpolation";

    /// <summary>Key of the class labels in logit order, a JSON array of strings: <c>labels</c>.</summary>
    public const string LabelsKey = "labels";

    /// <summary>Key of the weights' conventions' origin, a format name (torchvision, lukemelas, timm, timm-tf): <c>weight_source</c>.</summary>
    public const string WeightSourceKey = "weight_source";

    /// <summary>Key of the convolution padding, <c>symmetric</c> or <c>tf-same</c>: <c>padding</c>.</summary>
    public const string PaddingKey = "padding";

    /// <summary>Key of the batch-norm ε: <c>bn_eps</c>.</summary>
    public const string BatchNormEpsilonKey = "bn_eps";

    /// <summary>Key of the batch-norm momentum (PyTorch's convention): <c>bn_momentum</c>.</summary>
    public const string BatchNormMomentumKey = "bn_momentum";

    /// <summary>Class labels in logit order; null when none are recorded.</summary>
    public IReadOnlyList<string>? Labels { get; init; }

    /// <summary>Padding and batch-norm conventions the weights were trained with; null when not recorded (then the format's rule applies).</summary>
    public WeightSource? Source { get; init; }

    /// <summary>The <c>__metadata__</c> strings of this recipe, invariant culture.</summary>
    public IReadOnlyDictionary<string, string> ToMetadata()
    {
        var c = CultureInfo.InvariantCulture;
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [FormatKey] = FormatVersion,
            [VariantKey] = Variant,
            [CropSizeKey] = Preprocessing.CropSize.ToString(c),
            [ResizeSizeKey] = Preprocessing.ResizeSize.ToString(c),
            [MeanKey] = Preprocessing.Mean.ToString(),
            [StdKey] = Preprocessing.Std.ToString(),
            [InterpolationKey] = InterpolationName(Preprocessing.Interpolation),
        };
        if (Labels is not null) metadata[LabelsKey] = JsonSerializer.Serialize(Labels);
        if (Source is { } source)
        {
            metadata[WeightSourceKey] = WeightFormats.ToName(source.Format);
            metadata[PaddingKey] = PaddingName(source.Padding);
            metadata[BatchNormEpsilonKey] = source.BatchNormEpsilon.ToString("R", c);
            metadata[BatchNormMomentumKey] = source.BatchNormMomentum.ToString("R", c);
        }
        return metadata;
    }

    /// <summary>
    /// The recipe recorded in a file's <c>__metadata__</c>, or null when the file records none (no
    /// <see cref="FormatKey"/>: torchvision, timm and lukemelas files, or safetensors written by other tools).
    /// </summary>
    /// <param name="metadata">The file's <c>__metadata__</c> strings.</param>
    /// <param name="file">The file, named in errors.</param>
    /// <exception cref="InvalidDataException">The recipe is damaged: a key missing, or a value that does not parse or is out
    /// of range; the message names the file, the key, its value and what was expected.</exception>
    public static RecipeMetadata? FromMetadata(IReadOnlyDictionary<string, string> metadata, string file)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        if (!metadata.TryGetValue(FormatKey, out var version)) return null;
        if (version != FormatVersion)
            throw Damaged(file, FormatKey, version, $"version {FormatVersion} (a later EfficientNetML wrote this file; update it)");

        string Get(string key) => metadata.TryGetValue(key, out var value) ? value
            : throw new InvalidDataException($"'{file}' records a preprocessing recipe ('{FormatKey}' in its safetensors __metadata__) but no '{key}'. " +
                "The metadata is damaged: write the file again with EfficientNetML, or remove the '" + FormatKey + "' key to use the published recipe.");
        int Size(string key)
        {
            string text = Get(key);
            return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int size) && size >= 1 ? size
                : throw Damaged(file, key, text, "a whole number of pixels ≥ 1");
        }
        RgbValues Rgb(string key, bool positive)
        {
            string text = Get(key);
            RgbValues values;
            try
            {
                values = RgbValues.Parse(text);
            }
            catch (FormatException)
            {
                throw Damaged(file, key, text, "one number or three comma-separated numbers (R,G,B), invariant culture");
            }
            if (values.ToArray().Any(v => !float.IsFinite(v) || (positive && v <= 0)))
                throw Damaged(file, key, text, positive ? "finite numbers > 0" : "finite numbers");
            return values;
        }

        string variant = Get(VariantKey);
        if (string.IsNullOrWhiteSpace(variant)) throw Damaged(file, VariantKey, variant, "a variant name such as b0");
        int crop = Size(CropSizeKey), resize = Size(ResizeSizeKey);
        if (resize < crop) throw Damaged(file, ResizeSizeKey, resize.ToString(CultureInfo.InvariantCulture), $"at least {CropSizeKey} ({crop}): the crop is taken from the resized square");
        var mean = Rgb(MeanKey, positive: false);
        var std = Rgb(StdKey, positive: true);
        string interpolationText = Get(InterpolationKey);
        var interpolation = Enum.GetValues<ResizeInterpolation>().Where(i => InterpolationName(i) == interpolationText).Cast<ResizeInterpolation?>().FirstOrDefault()
            ?? throw Damaged(file, InterpolationKey, interpolationText, string.Join(" or ", Enum.GetValues<ResizeInterpolation>().Select(InterpolationName)));

        IReadOnlyList<string>? labels = null;
        if (metadata.TryGetValue(LabelsKey, out var labelsText))
        {
            try
            {
                labels = JsonSerializer.Deserialize<string[]>(labelsText);
            }
            catch (JsonException)
            {
            }
            if (labels is null || labels.Count == 0 || labels.Any(l => l is null))
                throw Damaged(file, LabelsKey, labelsText, "a JSON array of strings, one per class");
        }

        WeightSource? source = null;
        if (metadata.TryGetValue(WeightSourceKey, out var formatName))
        {
            WeightFormat format;
            try
            {
                format = WeightFormats.Parse(formatName);
            }
            catch (ArgumentException)
            {
                throw Damaged(file, WeightSourceKey, formatName, string.Join(", ", WeightFormats.Names));
            }
            string paddingText = Get(PaddingKey);
            var padding = Enum.GetValues<PaddingMode>().Where(p => PaddingName(p) == paddingText).Cast<PaddingMode?>().FirstOrDefault()
                ?? throw Damaged(file, PaddingKey, paddingText, string.Join(" or ", Enum.GetValues<PaddingMode>().Select(PaddingName)));
            source = new WeightSource(format, padding, Fraction(BatchNormEpsilonKey), Fraction(BatchNormMomentumKey));
        }
        return new RecipeMetadata(variant, new PreprocessingRecipe(resize, crop, mean, std, interpolation)) { Labels = labels, Source = source };

        double Fraction(string key)
        {
            string text = Get(key);
            return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) && value > 0 && value < 1 ? value
                : throw Damaged(file, key, text, "a number between 0 and 1");
        }
    }

    /// <summary>
    /// The recipe a weights file records, or null when it records none or is not a safetensors file (a <c>.pth</c>
    /// holds no metadata). Reads only the file's header.
    /// </summary>
    /// <param name="path">The weights file.</param>
    /// <exception cref="InvalidDataException">The header or the recipe is damaged; the message names the file and the key.</exception>
    public static RecipeMetadata? Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path) || CheckpointFileKind.Detect(path) != CheckpointFileKind.Kind.SafeTensors) return null;
        return FromMetadata(SafeTensorsFile.ReadMetadata(path), path);
    }

    /// <summary>
    /// What <paramref name="chosen"/> changes of <paramref name="recorded"/>, one entry per part (image size, resize size,
    /// mean, std, interpolation), for example <c>image size 32 → 128</c>; empty when they are equal.
    /// </summary>
    /// <param name="recorded">The recipe that came with the weights.</param>
    /// <param name="chosen">The recipe in use.</param>
    public static IReadOnlyList<string> Changes(PreprocessingRecipe recorded, PreprocessingRecipe chosen)
    {
        ArgumentNullException.ThrowIfNull(recorded);
        ArgumentNullException.ThrowIfNull(chosen);
        var changes = new List<string>();
        void Compare<T>(string name, T before, T after)
        {
            if (!EqualityComparer<T>.Default.Equals(before, after)) changes.Add(string.Create(CultureInfo.InvariantCulture, $"{name} {before} → {after}"));
        }
        Compare("image size", recorded.CropSize, chosen.CropSize);
        Compare("resize size", recorded.ResizeSize, chosen.ResizeSize);
        Compare("mean", recorded.Mean, chosen.Mean);
        Compare("std", recorded.Std, chosen.Std);
        Compare("interpolation", InterpolationName(recorded.Interpolation), InterpolationName(chosen.Interpolation));
        return changes;
    }

    /// <summary>
    /// One sentence saying what <paramref name="overriding"/> (the flags or options set) changes of the recipe
    /// <paramref name="file"/> records and what is kept; null when nothing changes.
    /// </summary>
    /// <param name="overriding">What overrides, for example <c>--resolution 128</c>.</param>
    /// <param name="file">The weights file.</param>
    /// <param name="recorded">The recipe it records.</param>
    /// <param name="chosen">The recipe in use.</param>
    public static string? DescribeOverride(string overriding, string file, PreprocessingRecipe recorded, PreprocessingRecipe chosen)
    {
        var changes = Changes(recorded, chosen);
        if (changes.Count == 0) return null;
        string[] parts = ["image size", "resize size", "mean", "std", "interpolation"];
        var kept = parts.Where(p => !changes.Any(c => c.StartsWith(p + " ", StringComparison.Ordinal))).ToList();
        return $"{overriding} overrides the preprocessing recorded in '{file}': {string.Join(", ", changes)}" +
            (kept.Count > 0 ? $"; {string.Join(", ", kept)} kept." : ".");
    }

    private static string InterpolationName(ResizeInterpolation interpolation) => interpolation.ToString().ToLowerInvariant();

    // The spelling the ONNX metadata uses too.
    private static string PaddingName(PaddingMode padding) => padding == PaddingMode.TensorFlowSame ? "tf-same" : "symmetric";

    private static InvalidDataException Damaged(string file, string key, string value, string expected) =>
        new($"'{file}' has a damaged preprocessing recipe in its safetensors __metadata__: '{key}' is \"{value}\", expected {expected}.");
}
