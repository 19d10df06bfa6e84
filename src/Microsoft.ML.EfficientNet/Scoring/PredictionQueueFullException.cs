namespace Microsoft.ML.EfficientNet.Scoring;

/// <summary>
/// Thrown by <see cref="BatchingPredictor"/> when its queue already holds <see cref="QueueCapacity"/> images: the
/// request was not accepted, and may be retried later (a web service answers 503 with <c>Retry-After</c>).
/// </summary>
public sealed class PredictionQueueFullException : InvalidOperationException
{
    /// <summary>Creates the exception for a queue of <paramref name="queueCapacity"/> images.</summary>
    /// <param name="queueCapacity">The queue's capacity.</param>
    public PredictionQueueFullException(int queueCapacity)
        : base($"The prediction queue is full ({queueCapacity} images waiting, BatchingPredictorOptions.QueueCapacity); retry later.")
    {
        QueueCapacity = queueCapacity;
    }

    /// <summary>The capacity of the queue that was full.</summary>
    public int QueueCapacity { get; }
}
