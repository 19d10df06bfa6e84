using EfficientNet.Training.Optimizers;
using Microsoft.Extensions.Logging;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Preprocessing;
using Microsoft.ML.EfficientNet.Weights;

namespace EfficientNet.Training.Training;

/// <summary>Which parameters train.</summary>
public enum TrainingMode
{
    /// <summary>Only the classifier; the backbone and its batch-norm statistics stay frozen (a linear probe).</summary>
    LinearProbe,

    /// <summary>The classifier and the last <see cref="EfficientNetTrainingOptions.TrainableStages"/> feature units (head conv, stage 7, …).</summary>
    LastStages,

    /// <summary>Everything (full fine-tuning, or training from scratch).</summary>
    Full,
}

/// <summary>Training-time augmentation presets.</summary>
public enum AugmentationPreset
{
    /// <summary>RandomResizedCrop (area 8–100 %, ratio 3/4–4/3) and horizontal flip: torchvision's ImageNet recipe.</summary>
    Standard,

    /// <summary>RandomResizedCrop over 25–100 % of the area and horizontal flip: for small data sets and fine-tuning.</summary>
    Light,

    /// <summary>A random shift of up to <see cref="EfficientNetTrainingOptions.ShiftPixels"/> pixels (zero padding) and horizontal flip: small images such as Fashion-MNIST.</summary>
    Shift,

    /// <summary>No augmentation: the whole image resized.</summary>
    None,
}

/// <summary>Which epoch's weights a run exports.</summary>
public enum KeptModel
{
    /// <summary>
    /// The epoch with the highest validation accuracy; a tie goes to the lower validation loss, then to the later epoch
    /// (the same accuracy on a small validation set says little, and the loss tells a confident model from a lucky one).
    /// Without validation data, the last epoch.
    /// </summary>
    Best,

    /// <summary>The last completed epoch, whatever its validation scores (for a fixed recipe whose schedule ends at a low learning rate).</summary>
    Last,
}

/// <summary>
/// Everything a fine-tuning or training run needs. Each property documents its default; a default options object
/// fine-tunes EfficientNet-B0 from torchvision's ImageNet weights with AdamW and a cosine schedule. The ML.NET trainer's options derive from this class,
/// as ML.NET's trainer options derive from their shared input options, so each training option and its default is
/// declared once.
/// </summary>
public class EfficientNetTrainingOptions
{
    /// <summary>Default values.</summary>
    internal static class Defaults
    {
        /// <summary>Name of the variant trained (<see cref="EfficientNetVariant.Parse"/>).</summary>
        public const string Variant = "b0";

        /// <summary>
        /// Starting weights: <c>pretrained</c>, the variant's published torchvision ImageNet weights (from the cache,
        /// downloaded when missing).
        /// </summary>
        public const string InitialWeights = "pretrained";

        /// <summary>The weights exported: the best validation epoch.</summary>
        public const KeptModel KeepModel = KeptModel.Best;

        /// <summary>Passes over the training set.</summary>
        public const int Epochs = 10;

        /// <summary>Images per step.</summary>
        public const int BatchSize = 32;

        /// <summary>Peak learning rate of the classifier (and of the backbone when training from scratch).</summary>
        public const double LearningRate = 1e-3;

        /// <summary>Backbone learning rate as a fraction of <see cref="LearningRate"/> when starting from trained weights.</summary>
        public const double PretrainedBackboneLearningRateFactor = 0.1;

        /// <summary>Weight decay (decoupled for AdamW).</summary>
        public const double WeightDecay = 0.05;

        /// <summary>Warm-up share of the steps.</summary>
        public const double WarmupFraction = 0.05;

        /// <summary>Label smoothing of the cross-entropy loss.</summary>
        public const double LabelSmoothing = 0.1;

        /// <summary>Share of each class held out for validation when no validation set is given.</summary>
        public const double ValidationFraction = 0.1;

        /// <summary>Feature units trained in <see cref="TrainingMode.LastStages"/>.</summary>
        public const int TrainableStages = 3;

        /// <summary>Pixels of random shift in <see cref="AugmentationPreset.Shift"/>.</summary>
        public const int ShiftPixels = 2;

        /// <summary>Epoch checkpoints kept besides the best weights.</summary>
        public const int KeepCheckpoints = 2;

        /// <summary>Largest width × height an image file may claim: <see cref="ImageDecoder.DefaultMaxPixels"/> (100 million).</summary>
        public const long MaxImagePixels = ImageDecoder.DefaultMaxPixels;
    }

    /// <summary>
    /// Variant to train: <see cref="EfficientNetVariant.B0"/> … <see cref="EfficientNetVariant.B7"/>, <see cref="EfficientNetVariant.V2S"/> … <see cref="EfficientNetVariant.V2L"/>, or its name
    /// (<c>Variant = "b4"</c> converts through <see cref="EfficientNetVariant.Parse"/>). Default <c>b0</c>.
    /// </summary>
    public EfficientNetVariant Variant { get; set; } = EfficientNetVariant.Parse(Defaults.Variant);

    /// <summary>Network input side in pixels. Default null: the recipe's crop size (the weights' published size, or the variant's resolution).</summary>
    public int? ImageSize { get; set; }

    /// <summary>
    /// Where the starting weights come from: <c>pretrained</c> (default) uses the variant's published torchvision
    /// ImageNet weights, from <see cref="CacheDirectory"/> or downloaded into it (without network access, put the file
    /// where the error says); null trains from scratch (the model's own initialisation), which needs far more images and
    /// epochs than fine-tuning; anything else is a checkpoint file (.pth, .safetensors) in any supported format. The
    /// classifier is replaced when the class count differs.
    /// </summary>
    public string? InitialWeights { get; set; } = Defaults.InitialWeights;

    /// <summary>
    /// Keep the classifier of <see cref="InitialWeights"/> when its class count matches (to continue training on the same
    /// classes). Default false: a new classifier initialised as PyTorch's <c>nn.Linear</c> (±1/√inputs), as transfer to new
    /// classes needs.
    /// </summary>
    public bool KeepClassifier { get; set; }

    /// <summary>Format of <see cref="InitialWeights"/> when it is a file. Default null: detected.</summary>
    public WeightFormat? InitialWeightsFormat { get; set; }

    /// <summary>Cache folder for <c>pretrained</c>. Default null: <see cref="WeightCache.DefaultDirectory"/>.</summary>
    public string? CacheDirectory { get; set; }

    /// <summary>Which parameters train. Default <see cref="TrainingMode.Full"/>.</summary>
    public TrainingMode Mode { get; set; } = TrainingMode.Full;

    /// <summary>Trailing feature units trained in <see cref="TrainingMode.LastStages"/> (1 = head conv only, 2 = + stage 7 …). Default 3.</summary>
    public int TrainableStages { get; set; } = Defaults.TrainableStages;

    /// <summary>Keep every batch norm in evaluation mode (running statistics frozen), as recommended for small batches. Default false.</summary>
    public bool FreezeBatchNorm { get; set; }

    /// <summary>Passes over the training set. Default 10.</summary>
    public int Epochs { get; set; } = Defaults.Epochs;

    /// <summary>Images per step. Default 32.</summary>
    public int BatchSize { get; set; } = Defaults.BatchSize;

    /// <summary>Peak learning rate of the classifier. Default 1e-3.</summary>
    public double LearningRate { get; set; } = Defaults.LearningRate;

    /// <summary>
    /// Peak learning rate of the backbone. Default null: <see cref="LearningRate"/> from scratch, a tenth of it when
    /// starting from trained weights.
    /// </summary>
    public double? BackboneLearningRate { get; set; }

    /// <summary>Update rule. Default <see cref="OptimizerKind.AdamW"/>.</summary>
    public OptimizerKind Optimizer { get; set; } = OptimizerKind.AdamW;

    /// <summary>Weight decay. Default 0.05.</summary>
    public double WeightDecay { get; set; } = Defaults.WeightDecay;

    /// <summary>Apply weight decay to batch-norm parameters and biases too (PyTorch's default when all parameters are passed). Default false.</summary>
    public bool DecayNormAndBias { get; set; }

    /// <summary>Learning-rate schedule. Default <see cref="ScheduleKind.CosineWithWarmup"/>.</summary>
    public ScheduleKind Schedule { get; set; } = ScheduleKind.CosineWithWarmup;

    /// <summary>Share of the steps for warm-up (or the rising phase of one-cycle). Default 0.05.</summary>
    public double WarmupFraction { get; set; } = Defaults.WarmupFraction;

    /// <summary>Label smoothing in [0, 1). Default 0.1.</summary>
    public double LabelSmoothing { get; set; } = Defaults.LabelSmoothing;

    /// <summary>Clip the global gradient norm to this value. Default null: no clipping.</summary>
    public double? MaxGradNorm { get; set; }

    /// <summary>Keep an exponential moving average of the weights with this decay (for example 0.999), evaluate and export it. Default null: off.</summary>
    public double? EmaDecay { get; set; }

    /// <summary>
    /// Which epoch's weights are exported: <see cref="KeptModel.Best"/> (default: highest validation accuracy, a tie
    /// broken by lower validation loss, then by the later epoch) or <see cref="KeptModel.Last"/>.
    /// </summary>
    public KeptModel KeepModel { get; set; } = Defaults.KeepModel;

    /// <summary>Stop when validation accuracy has not risen above its best for this many epochs (a tie does not count). Default null: never.</summary>
    public int? EarlyStoppingPatience { get; set; }

    /// <summary>Stochastic-depth rate of the last block. Default null: 0.2, the reference value.</summary>
    public double? StochasticDepthRate { get; set; }

    /// <summary>Training augmentation. Default <see cref="AugmentationPreset.Standard"/>.</summary>
    public AugmentationPreset Augmentation { get; set; } = AugmentationPreset.Standard;

    /// <summary>Pixels of shift for <see cref="AugmentationPreset.Shift"/>. Default 2.</summary>
    public int ShiftPixels { get; set; } = Defaults.ShiftPixels;

    /// <summary>
    /// Evaluation preprocessing and normalisation, recorded in the exported model. Default null: the starting weights'
    /// mean and std (ImageNet's from scratch), resize = ⌊size/0.875⌋, crop = <see cref="ImageSize"/>.
    /// </summary>
    public PreprocessingRecipe? Recipe { get; set; }

    /// <summary>Share of each class held out when no validation set is given. Default 0.1.</summary>
    public double ValidationFraction { get; set; } = Defaults.ValidationFraction;

    /// <summary>Seed of weights, data order, augmentation, dropout and the validation split. Default 0.</summary>
    public int Seed { get; set; }

    /// <summary>Threads decoding and augmenting images. Default null: one per logical processor.</summary>
    public int? DataWorkers { get; set; }

    /// <summary>
    /// Turn image files upright by their EXIF orientation (2–8: mirrored, rotated by 90°, 180° or 270°) before cropping and
    /// resizing, for training and validation alike. Default false: images are used as stored, as ML.NET's
    /// <c>LoadImages</c> (and so the exported model's saved chain) uses them, and the first file whose orientation is not 1
    /// is logged as a warning, once per run. Applies to images read from files (an image folder, or a data view whose
    /// images <c>LoadImages</c> read from disk); in-memory images have no orientation.
    /// </summary>
    public bool ApplyExifOrientation { get; set; }

    /// <summary>
    /// The largest width × height an image file may claim in its header, for training and validation alike. A larger one
    /// is refused before any pixel memory is allocated and skipped like any unreadable file, with one <c>Skipped
    /// &lt;file&gt;: …</c> warning per run naming it and its claimed size. Default <see cref="Defaults.MaxImagePixels"/>.
    /// Applies to images read from files; in-memory images are already decoded.
    /// </summary>
    public long MaxImagePixels { get; set; } = Defaults.MaxImagePixels;

    /// <summary>libtorch threads. Default null: one per logical processor.</summary>
    public int? Threads { get; set; }

    /// <summary>Train with channels-last (NHWC) tensors, which oneDNN convolves without layout conversions. Default true.</summary>
    public bool ChannelsLast { get; set; } = true;

    /// <summary>SiLU through a custom autograd function that recomputes σ(x) in the backward pass. Default false.</summary>
    public bool MemoryEfficientSiLU { get; set; }

    /// <summary>Feature units (0 stem, 1–7 stages, 8 head) recomputed in the backward pass instead of stored. Default none.</summary>
    public IReadOnlyList<int> CheckpointStages { get; set; } = [];

    /// <summary>
    /// On Linux, make glibc keep freed memory for reuse instead of returning it to the kernel after every step (large
    /// tensors otherwise cost a page fault per 4 KB each step; measured 5× faster steps at 224 px). The process then stays
    /// at its peak size until it exits. Default true.
    /// </summary>
    public bool KeepFreedMemory { get; set; } = true;

    /// <summary><c>cpu</c> (default) or <c>cuda</c>, <c>cuda:N</c> (needs a CUDA build of libtorch; see docs/TRAINING.md).</summary>
    public string Device { get; set; } = "cpu";

    /// <summary>Folder for checkpoints and the exported model. Default null: a new folder under the temp folder.</summary>
    public string? OutputDirectory { get; set; }

    /// <summary>Continue from the last complete checkpoint in <see cref="OutputDirectory"/> when there is one. Default true.</summary>
    public bool Resume { get; set; } = true;

    /// <summary>Epoch checkpoints kept (older ones are deleted). Default 2.</summary>
    public int KeepCheckpoints { get; set; } = Defaults.KeepCheckpoints;

    /// <summary>Called after every step and every epoch. Default null.</summary>
    public Action<TrainingEvent>? Progress { get; set; }

    /// <summary>Receives one line per epoch, warnings (skipped images) and errors. Default null.</summary>
    public ILogger? Logger { get; set; }

    /// <summary>Steps between step log lines. Default 50.</summary>
    public int LogEverySteps { get; set; } = 50;

    /// <summary>
    /// Where the training images came from, written into <c>training.json</c> as <c>data</c> so that a tool outside .NET
    /// (samples/scale-out/ddp.py, PyTorch DDP) can open the same images. Null when the caller has no such description
    /// (an ML.NET <c>IDataView</c>); then <c>data</c> is null.
    /// </summary>
    internal TrainingDataSource? DataSource { get; set; }

    /// <summary>Throws for values no run can use, naming the property.</summary>
    internal void Validate()
    {
        if (Variant is null) throw new ArgumentNullException(nameof(Variant), "Set the variant to train (b0 … b7, v2-s, v2-m, v2-l, lite0 … lite4).");
        if (Epochs < 1) throw new ArgumentOutOfRangeException(nameof(Epochs), Epochs, "Train for at least one epoch.");
        if (BatchSize < 2) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "Batch size must be at least 2 (batch norm needs two samples).");
        if (!(LearningRate > 0)) throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "Learning rate must be positive.");
        if (BackboneLearningRate is < 0) throw new ArgumentOutOfRangeException(nameof(BackboneLearningRate), BackboneLearningRate, "Must not be negative.");
        if (!(LabelSmoothing >= 0 && LabelSmoothing < 1)) throw new ArgumentOutOfRangeException(nameof(LabelSmoothing), LabelSmoothing, "Must be in [0, 1).");
        if (!(WarmupFraction >= 0 && WarmupFraction < 1)) throw new ArgumentOutOfRangeException(nameof(WarmupFraction), WarmupFraction, "Must be in [0, 1).");
        if (EmaDecay is { } d && !(d > 0 && d < 1)) throw new ArgumentOutOfRangeException(nameof(EmaDecay), d, "Must be in (0, 1).");
        if (MaxImagePixels < 1) throw new ArgumentOutOfRangeException(nameof(MaxImagePixels), MaxImagePixels, "Must be at least 1 pixel.");
        if (ImageSize is < 32) throw new ArgumentOutOfRangeException(nameof(ImageSize), ImageSize, "Images must be at least 32 pixels.");
        if (TrainableStages is < 1 or > 9) throw new ArgumentOutOfRangeException(nameof(TrainableStages), TrainableStages, "Between 1 (head conv) and 9 (everything).");
        if (!Enum.IsDefined(KeepModel)) throw new ArgumentOutOfRangeException(nameof(KeepModel), KeepModel, $"Must be {KeptModel.Best} or {KeptModel.Last}.");
        if (CheckpointStages.Any(s => s is < 0 or > 8)) throw new ArgumentOutOfRangeException(nameof(CheckpointStages), string.Join(",", CheckpointStages), "Stages are 0 (stem) to 8 (head).");
    }

    /// <summary>A shallow copy: every option, whatever type derives from this one, without naming them one by one.</summary>
    internal EfficientNetTrainingOptions Copy() => (EfficientNetTrainingOptions)MemberwiseClone();
}
