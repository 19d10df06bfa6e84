namespace Microsoft.ML.EfficientNet.Scoring;

/// <summary>Options of <see cref="BatchingPredictor"/>. Every property has a documented default.</summary>
public sealed class BatchingPredictorOptions
{
    /// <summary>Default values of the options.</summary>
    internal static class Defaults
    {
        /// <summary>Most images scored in one session run.</summary>
        public const int MaxBatch = 8;

        /// <summary>Longest a batch waits to fill after its first image arrives, in milliseconds.</summary>
        public const int MaxWaitMilliseconds = 5;

        /// <summary>Most images waiting to be scored; one more is refused with <see cref="PredictionQueueFullException"/>.</summary>
        public const int QueueCapacity = 256;
    }

    /// <summary>
    /// Most images scored together in one session run, at least 1. Default <see cref="Defaults.MaxBatch"/>; 1 scores
    /// each image on its own, as it arrives.
    /// </summary>
    public int MaxBatch { get; set; } = Defaults.MaxBatch;

    /// <summary>
    /// Longest a batch waits for more images after its first one arrives, zero or more: a batch is scored when it holds
    /// <see cref="MaxBatch"/> images, when this time has passed, or when no other caller is preparing an image (so a
    /// lone client never waits), whichever comes first. Default <see cref="Defaults.MaxWaitMilliseconds"/> ms.
    /// </summary>
    public TimeSpan MaxWait { get; set; } = TimeSpan.FromMilliseconds(Defaults.MaxWaitMilliseconds);

    /// <summary>
    /// Most images accepted and waiting to be scored, at least 1. A request beyond it fails at once with
    /// <see cref="PredictionQueueFullException"/> (a service answers 503) rather than waiting without bound. Default
    /// <see cref="Defaults.QueueCapacity"/>.
    /// </summary>
    public int QueueCapacity { get; set; } = Defaults.QueueCapacity;
}
