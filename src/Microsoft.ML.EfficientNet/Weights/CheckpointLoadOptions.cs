namespace Microsoft.ML.EfficientNet.Weights;

/// <summary>How <see cref="EfficientNetCheckpoint.Load(string, Architecture.EfficientNetVariant, CheckpointLoadOptions?)"/> and <see cref="EfficientNetCheckpoint.FromStateDict"/> read and check a checkpoint.</summary>
internal sealed class CheckpointLoadOptions
{
    /// <summary>
    /// The checkpoint's format, which fixes key names, padding and batch-norm eps. Default null: detected from the key
    /// names; timm-named files are taken as <see cref="WeightFormat.TimmTensorFlow"/> when the file name contains
    /// <c>tf_</c>, otherwise as <see cref="WeightFormat.Timm"/> (the two share key names, so name the format when unsure).
    /// </summary>
    public WeightFormat? Format { get; set; }

    /// <summary>Classifier outputs of the network to build. Default null: the checkpoint's own class count.</summary>
    public int? NumClasses { get; set; }

    /// <summary>
    /// When <see cref="NumClasses"/> differs from the checkpoint's classifier: true drops the checkpoint's classifier
    /// so a new one is initialised (transfer learning); false (default) fails with the two class counts.
    /// </summary>
    public bool ReplaceHead { get; set; }

    /// <summary>
    /// True (default): keys the network does not have are an error. False: they are ignored. Missing keys and shape
    /// mismatches are always errors, except <c>num_batches_tracked</c>, which old checkpoints omit.
    /// </summary>
    public bool Strict { get; set; } = true;

    /// <summary>
    /// False (default): a weight or batch-norm statistic holding NaN or ±Inf is an error naming the tensor and the count,
    /// because such a network scores NaN or garbage silently. True: accepted, to inspect a damaged or diverged checkpoint.
    /// </summary>
    public bool AllowNonFinite { get; set; }
}
