using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.IO;
using Microsoft.ML.EfficientNet.Preprocessing;
using System.Text;

namespace Microsoft.ML.EfficientNet.Weights;

/// <summary>
/// Weights checked against a network spec and renamed to canonical (torchvision) keys, with the padding and batch-norm
/// conventions of their source and the preprocessing they come with: the recipe the file records
/// (<see cref="RecipeMetadata"/>), else the published one. Both the TorchSharp model and the ONNX writer consume this.
/// </summary>
internal sealed class EfficientNetCheckpoint
{
    private const string DataParallelPrefix = "module.";

    private EfficientNetCheckpoint(EfficientNetSpec spec, WeightSource source, StateDict weights, bool headReplaced, string origin, RecipeMetadata? recipe)
    {
        Spec = spec;
        Source = source;
        Weights = weights;
        HeadReplaced = headReplaced;
        Origin = origin;
        Recipe = recipe;
    }

    /// <summary>The network the weights fit.</summary>
    internal EfficientNetSpec Spec { get; }

    /// <summary>Padding and batch-norm conventions of the weights.</summary>
    internal WeightSource Source { get; }

    /// <summary>The weights under canonical keys, in spec order. Without the classifier when <see cref="HeadReplaced"/>;
    /// <c>num_batches_tracked</c> entries only where the file had them.</summary>
    internal StateDict Weights { get; }

    /// <summary>True when the checkpoint's classifier was dropped because another class count was asked for.</summary>
    public bool HeadReplaced { get; }

    /// <summary>The file (or description) the weights came from.</summary>
    public string Origin { get; }

    /// <summary>
    /// The preprocessing and labels the file records in its metadata (every weight file a training run writes does), or
    /// null when it records none (published files).
    /// </summary>
    internal RecipeMetadata? Recipe { get; }

    /// <summary>
    /// The preprocessing the weights expect: the recorded <see cref="Recipe"/>, else the published recipe of their format
    /// and variant (<see cref="PretrainedWeights.RecipeFor"/>). The ONNX writer, the featurizer and the trainer start from it.
    /// </summary>
    public PreprocessingRecipe Preprocessing => Recipe?.Preprocessing ?? PretrainedWeights.RecipeFor(Source.Format, Spec.Variant);

    /// <summary>
    /// The class labels the file records, when its classifier is kept (not <see cref="HeadReplaced"/>); else null.
    /// </summary>
    public IReadOnlyList<string>? Labels => HeadReplaced ? null : Recipe?.Labels;

    /// <summary>
    /// SHA-256 (lowercase hex) of the checkpoint file, or, for weights made in memory, of their canonical keys and float32
    /// data. Recorded in exported ONNX metadata so a model can be traced to its weights.
    /// </summary>
    public string Sha256 => _sha256 ??= File.Exists(Origin) ? FileHash.Sha256(Origin) : Weights.Sha256();

    private string? _sha256;

    /// <summary>Reads a checkpoint file (.pth or .safetensors) and checks it against the spec of <paramref name="variant"/>.</summary>
    /// <param name="path">The checkpoint file.</param>
    /// <param name="variant">The variant the weights should be.</param>
    /// <param name="options">Format, class count, head replacement and strictness; default <see cref="CheckpointLoadOptions"/>.</param>
    /// <exception cref="CheckpointMismatchException">The weights do not fit: every problem key is named.</exception>
    /// <exception cref="InvalidDataException">The file is not a readable checkpoint, names a Python global outside the
    /// weights-only allow-list, or holds NaN/Inf (unless <see cref="CheckpointLoadOptions.AllowNonFinite"/>).</exception>
    public static EfficientNetCheckpoint Load(string path, EfficientNetVariant variant, CheckpointLoadOptions? options = null)
    {
        var stateDict = StateDict.Load(path);
        return FromStateDict(stateDict, variant, options);
    }

    /// <summary>
    /// Reads a checkpoint file whose variant is the one its recipe records (<see cref="RecipeMetadata.Variant"/>), or,
    /// without a recipe, the named variant its shapes identify (<see cref="IdentifyVariant"/>).
    /// </summary>
    /// <param name="path">The checkpoint file.</param>
    /// <param name="options">Format, class count, head replacement and strictness; default <see cref="CheckpointLoadOptions"/>.</param>
    /// <exception cref="ArgumentException">Neither the recipe nor the shapes name a variant B0–B7 or V2-S/M/L.</exception>
    /// <exception cref="CheckpointMismatchException">The weights do not fit that variant.</exception>
    /// <exception cref="InvalidDataException">The file is not a readable checkpoint, or its recipe is damaged.</exception>
    public static EfficientNetCheckpoint Load(string path, CheckpointLoadOptions? options = null)
    {
        var stateDict = StateDict.Load(path);
        var recorded = RecipeMetadata.FromMetadata(stateDict.Metadata, stateDict.Source);
        EfficientNetVariant? variant = null;
        if (recorded is not null && !EfficientNetVariant.TryParse(recorded.Variant, out variant))
            throw new ArgumentException($"'{path}' records the variant '{recorded.Variant}', which is not one of " +
                $"{string.Join(", ", EfficientNetVariant.Named.Select(v => v.Name))}: load it with its EfficientNetVariant.", nameof(path));
        variant ??= IdentifyVariant(stateDict, options?.Format)
            ?? throw new ArgumentException($"Could not identify the variant of '{path}' from its shapes, and it records no recipe; name the variant.", nameof(path));
        return FromStateDict(stateDict, variant, options);
    }

    /// <summary>Checks an in-memory state dict against the spec of <paramref name="variant"/>.</summary>
    /// <param name="stateDict">Weights in any supported naming.</param>
    /// <param name="variant">The variant the weights should be.</param>
    /// <param name="options">Format, class count, head replacement and strictness.</param>
    internal static EfficientNetCheckpoint FromStateDict(StateDict stateDict, EfficientNetVariant variant, CheckpointLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        ArgumentNullException.ThrowIfNull(variant);
        options ??= new CheckpointLoadOptions();
        stateDict = StripDataParallelPrefix(stateDict);
        WeightFormat format = options.Format ?? DetectFormat(stateDict);
        var recipe = RecipeMetadata.FromMetadata(stateDict.Metadata, stateDict.Source);

        // The class count comes from the checkpoint's classifier unless asked otherwise.
        var probe = EfficientNetSpec.Create(variant);
        string classifierKey = CheckpointKeyMap.KeyFor(probe.StateDict[^1], format);
        int? checkpointClasses = stateDict.TryGetValue(classifierKey, out var classifierBias) ? (int)classifierBias.Shape[0] : null;
        int numClasses = options.NumClasses ?? checkpointClasses ?? 1000;
        bool replaceHead = checkpointClasses is { } c && c != numClasses;
        if (replaceHead && !options.ReplaceHead)
        {
            throw new CheckpointMismatchException(
                $"The classifier in {stateDict.Source} has {checkpointClasses} classes but {numClasses} were asked for. " +
                "Set ReplaceHead (--replace-head) to drop it and train a new classifier (transfer learning).",
                [], [], [new ShapeMismatch(classifierKey, $"[{numClasses}]", $"[{checkpointClasses}]")]);
        }

        var spec = EfficientNetSpec.Create(variant, numClasses);
        var expected = CheckpointKeyMap.ByFormatKey(spec, format);
        var missing = new List<string>();
        var mismatched = new List<ShapeMismatch>();
        var canonical = new List<KeyValuePair<string, WeightTensor>>();
        foreach (var (key, tensorSpec) in expected)
        {
            bool isHead = tensorSpec.Layer.Role == LayerRole.Classifier;
            if (isHead && replaceHead) continue;
            if (!stateDict.TryGetValue(key, out var tensor))
            {
                if (tensorSpec.Role != TensorRole.NumBatchesTracked) missing.Add(key);
                continue;
            }
            if (!tensor.HasShape(tensorSpec.Shape))
            {
                mismatched.Add(new ShapeMismatch(key, tensorSpec.ShapeText, tensor.ShapeText));
                continue;
            }
            canonical.Add(new(tensorSpec.Name, tensor));
        }
        var unexpected = stateDict.Keys.Where(k => !expected.ContainsKey(k)).ToList();
        if (missing.Count > 0 || mismatched.Count > 0 || (options.Strict && unexpected.Count > 0))
            throw Mismatch(stateDict, spec, format, missing, options.Strict ? unexpected : [], mismatched);
        if (!options.AllowNonFinite) ThrowIfNonFinite(canonical, stateDict.Source);
        if (!replaceHead && recipe?.Labels is { } labels && labels.Count != numClasses)
            throw new InvalidDataException($"'{stateDict.Source}' has a damaged preprocessing recipe in its safetensors __metadata__: " +
                $"'{RecipeMetadata.LabelsKey}' holds {labels.Count} labels but the classifier has {numClasses} classes.");

        // Weights written by training keep torchvision's key names whatever conventions they were trained with (a run
        // from lukemelas weights keeps TF "SAME" padding and eps 1e-3), so the recorded conventions come before the naming's.
        var source = recipe?.Source ?? WeightSource.For(format, variant);
        return new EfficientNetCheckpoint(spec, source, new StateDict(canonical, stateDict.Source), replaceHead, stateDict.Source, recipe);
    }

    /// <summary>
    /// Wraps weights produced in this process (for example by training) without a file, under canonical names.
    /// </summary>
    /// <param name="spec">The network the weights belong to.</param>
    /// <param name="weights">Weights under canonical (torchvision) keys.</param>
    /// <param name="source">Their padding and batch-norm conventions.</param>
    internal static EfficientNetCheckpoint FromCanonical(EfficientNetSpec spec, StateDict weights, WeightSource source)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(source);
        var checkpoint = FromStateDict(weights, spec.Variant, new CheckpointLoadOptions { Format = WeightFormat.TorchVision, NumClasses = spec.NumClasses });
        return new EfficientNetCheckpoint(checkpoint.Spec, source, checkpoint.Weights, false, weights.Source, checkpoint.Recipe);
    }

    /// <summary>
    /// The named variant (B0–B7, V2-S/M/L) whose layer shapes (classifier aside) a state dict has, or null when none fits.
    /// </summary>
    /// <param name="stateDict">Weights in any supported naming.</param>
    /// <param name="format">Their naming; null to detect.</param>
    internal static EfficientNetVariant? IdentifyVariant(StateDict stateDict, WeightFormat? format = null)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        stateDict = StripDataParallelPrefix(stateDict);
        WeightFormat naming = format ?? CheckpointKeyMap.DetectNaming(stateDict.Keys) ?? WeightFormat.TorchVision;
        // Compare the body (classifier and counters aside) key for key: B0's keys are a subset of B1's, so a subset test is not enough.
        static bool IsBody(TensorSpec t) => t.Layer.Role != LayerRole.Classifier && t.Role != TensorRole.NumBatchesTracked;
        foreach (var variant in EfficientNetVariant.Named)
        {
            var spec = EfficientNetSpec.Create(variant);
            var keys = CheckpointKeyMap.ByFormatKey(spec, naming);
            var body = spec.StateDict.Where(IsBody).ToList();
            int bodyKeysInFile = stateDict.Keys.Count(k => !k.EndsWith(".num_batches_tracked", StringComparison.Ordinal) &&
                !(keys.TryGetValue(k, out var t) && t.Layer.Role == LayerRole.Classifier));
            if (bodyKeysInFile == body.Count &&
                body.All(t => stateDict.TryGetValue(CheckpointKeyMap.KeyFor(t, naming), out var tensor) && tensor.HasShape(t.Shape)))
                return variant;
        }
        return null;
    }

    // Every consumer (featurizer, ONNX export, trainer) comes through here, so one check covers them all.
    private static void ThrowIfNonFinite(List<KeyValuePair<string, WeightTensor>> tensors, string source)
    {
        var bad = new List<string>();
        foreach (var (key, tensor) in tensors)
        {
            int nan = 0, inf = 0;
            foreach (float v in tensor.Values)
            {
                if (float.IsNaN(v)) nan++;
                else if (float.IsInfinity(v)) inf++;
            }
            if (nan + inf > 0) bad.Add($"'{key}': {nan} NaN and {inf} Inf of {tensor.ElementCount} values");
        }
        if (bad.Count > 0)
            throw new InvalidDataException($"Checkpoint {source} holds non-finite values in {bad.Count} tensor(s): {string.Join("; ", bad.Take(10))}" +
                (bad.Count > 10 ? $"; and {bad.Count - 10} more" : "") + ". A network with them scores NaN or garbage. " +
                "Set CheckpointLoadOptions.AllowNonFinite to load it anyway for inspection.");
    }

    private static WeightFormat DetectFormat(StateDict stateDict)
    {
        WeightFormat naming = CheckpointKeyMap.DetectNaming(stateDict.Keys) ?? throw new InvalidDataException(
            $"{stateDict.Source} does not look like an EfficientNet checkpoint: none of its {stateDict.Count} keys is a stem convolution " +
            "('features.0.0.weight' for torchvision, '_conv_stem.weight' for lukemelas, 'conv_stem.weight' for timm). " +
            $"First keys: {string.Join(", ", stateDict.Keys.Take(5))}.");
        if (naming == WeightFormat.Timm && Path.GetFileName(stateDict.Source).Contains("tf_", StringComparison.OrdinalIgnoreCase))
            return WeightFormat.TimmTensorFlow;
        return naming;
    }

    private static StateDict StripDataParallelPrefix(StateDict stateDict) =>
        stateDict.Count > 0 && stateDict.Keys.All(k => k.StartsWith(DataParallelPrefix, StringComparison.Ordinal))
            ? new StateDict(stateDict.Entries.Select(e => new KeyValuePair<string, WeightTensor>(e.Key[DataParallelPrefix.Length..], e.Value)), stateDict.Source) { Metadata = stateDict.Metadata }
            : stateDict;

    private static CheckpointMismatchException Mismatch(StateDict stateDict, EfficientNetSpec spec, WeightFormat format,
        List<string> missing, List<string> unexpected, List<ShapeMismatch> mismatched)
    {
        var message = new StringBuilder();
        message.Append(System.Globalization.CultureInfo.InvariantCulture,
            $"Checkpoint {stateDict.Source} ({WeightFormats.ToName(format)} naming) does not fit EfficientNet-{spec.Variant.Name} with {spec.NumClasses} classes");
        var actual = IdentifyVariant(stateDict, format);
        if (actual is not null && actual != spec.Variant)
            message.Append(System.Globalization.CultureInfo.InvariantCulture, $": it holds EfficientNet-{actual.Name} weights");
        message.Append('.');
        if (mismatched.Count > 0)
        {
            var first = mismatched[0];
            message.Append(System.Globalization.CultureInfo.InvariantCulture,
                $" First mismatched tensor: '{first.Key}' expected {first.Expected}, checkpoint has {first.Actual}.");
            message.Append(System.Globalization.CultureInfo.InvariantCulture, $"\nShape mismatches ({mismatched.Count}):");
            foreach (var m in mismatched) message.Append(System.Globalization.CultureInfo.InvariantCulture, $"\n  {m.Key}: expected {m.Expected}, found {m.Actual}");
        }
        if (missing.Count > 0)
        {
            message.Append(System.Globalization.CultureInfo.InvariantCulture, $"\nMissing keys ({missing.Count}):");
            foreach (var k in missing) message.Append("\n  ").Append(k);
        }
        if (unexpected.Count > 0)
        {
            message.Append(System.Globalization.CultureInfo.InvariantCulture, $"\nUnexpected keys ({unexpected.Count}):");
            foreach (var k in unexpected) message.Append("\n  ").Append(k);
        }
        return new CheckpointMismatchException(message.ToString(), missing, unexpected, mismatched);
    }
}
