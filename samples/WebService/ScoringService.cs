using Microsoft.ML.EfficientNet.Scoring;

namespace EfficientNetML.WebService;

/// <summary>
/// The service's one model: the predictor (one ONNX Runtime session) and the batcher every request goes through.
/// Disposed by the host at shutdown, after the server has finished its requests: the batcher scores what it accepted,
/// then the session is freed.
/// </summary>
public sealed class ScoringService : IAsyncDisposable
{
    /// <summary>Loads the model named by <paramref name="options"/> and starts batching.</summary>
    public ScoringService(ServiceOptions options, ILogger<ScoringService> logger)
    {
        Options = options;
        Predictor = EfficientNetPredictor.Load(options.Model, new EfficientNetPredictorOptions { IntraOpThreads = options.Threads, Logger = logger });
        Batcher = new BatchingPredictor(Predictor, new BatchingPredictorOptions
        {
            MaxBatch = options.MaxBatch,
            MaxWait = TimeSpan.FromMilliseconds(options.MaxWaitMilliseconds),
            QueueCapacity = options.QueueCapacity,
        });
        logger.LogInformation("Serving {Model} ({Classes} classes, {Provider}); batches of up to {MaxBatch}, waiting up to {MaxWait} ms; queue {Queue}; body limit {Body:N0} bytes",
            Predictor.ModelPath, Predictor.Labels.Count, Predictor.ExecutionProvider,
            options.MaxBatch, options.MaxWaitMilliseconds, options.QueueCapacity, options.MaxBodyBytes);
    }

    /// <summary>The settings.</summary>
    public ServiceOptions Options { get; }

    /// <summary>The model.</summary>
    public EfficientNetPredictor Predictor { get; }

    /// <summary>The batcher over <see cref="Predictor"/>.</summary>
    public BatchingPredictor Batcher { get; }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await Batcher.DisposeAsync();
        Predictor.Dispose();
    }
}
