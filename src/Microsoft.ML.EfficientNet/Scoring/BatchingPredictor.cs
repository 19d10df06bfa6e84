using System.Threading.Channels;
using Microsoft.ML.Data;
using Microsoft.ML.EfficientNet.Explain;

namespace Microsoft.ML.EfficientNet.Scoring;

/// <summary>
/// Scores images from many concurrent callers in batches (dynamic batching, as Triton and TorchServe do on a server):
/// each caller hands over one image and awaits its own prediction; one consumer scores up to
/// <see cref="BatchingPredictorOptions.MaxBatch"/> waiting images in one run of the <see cref="EfficientNetPredictor"/>'s
/// session, waiting at most <see cref="BatchingPredictorOptions.MaxWait"/> for a batch to fill. Predictions equal those
/// of <see cref="EfficientNetPredictor.Predict(byte[], int, bool)"/>.
/// </summary>
/// <remarks>
/// <para>Decoding, resizing and pixel extraction run on the caller's thread before the image is queued, and softmax,
/// ranking and activation maps after its batch returns, so a large or slow image costs its own caller, not the batch.
/// An image that cannot be decoded fails its own call with <see cref="InvalidDataException"/> and never reaches the
/// queue.</para>
/// <para>The queue is bounded (<see cref="BatchingPredictorOptions.QueueCapacity"/>): beyond it a call fails at once with
/// <see cref="PredictionQueueFullException"/>. A call whose token is cancelled while its image waits is dropped before
/// its batch is scored. <see cref="DisposeAsync"/> refuses new images, scores every accepted one, then returns; it does
/// not dispose the predictor, which stays the caller's (dispose it after this).</para>
/// </remarks>
public sealed class BatchingPredictor : IAsyncDisposable
{
    private readonly EfficientNetPredictor _predictor;
    private readonly BatchingPredictorOptions _options;
    private readonly Channel<Request> _queue;
    private readonly Task _consumer;
    private long _scoredImages, _batches;
    // Callers between accepting an image and queueing it: the images a waiting batch may still get.
    private int _preparing;

    /// <summary>Awaited by the consumer before it takes each batch from the queue: lets tests hold it while they fill the queue.</summary>
    internal Func<Task>? BeforeBatchForTests { get; set; }
    private int _disposed;

    /// <summary>Starts batching over <paramref name="predictor"/>, which must outlive this object.</summary>
    /// <param name="predictor">The predictor whose session scores the batches; not disposed by this object.</param>
    /// <param name="options">Batch size, wait and queue capacity; default <see cref="BatchingPredictorOptions.Defaults"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range; the message names it.</exception>
    public BatchingPredictor(EfficientNetPredictor predictor, BatchingPredictorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(predictor);
        options ??= new BatchingPredictorOptions();
        if (options.MaxBatch < 1)
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxBatch, $"MaxBatch must be at least 1, got {options.MaxBatch}.");
        if (options.MaxWait < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxWait, $"MaxWait must be zero or more, got {options.MaxWait}.");
        if (options.QueueCapacity < 1)
            throw new ArgumentOutOfRangeException(nameof(options), options.QueueCapacity, $"QueueCapacity must be at least 1, got {options.QueueCapacity}.");
        _predictor = predictor;
        _options = options;
        _queue = Channel.CreateBounded<Request>(new BoundedChannelOptions(options.QueueCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _consumer = Task.Run(ConsumeAsync);
    }

    /// <summary>The predictor whose session scores the batches (its labels, metadata and model path).</summary>
    public EfficientNetPredictor Predictor => _predictor;

    /// <summary>Images scored so far, over all batches (cancelled ones are not scored).</summary>
    public long ScoredImages => Interlocked.Read(ref _scoredImages);

    /// <summary>Images accepted and waiting for a batch now (at most <see cref="BatchingPredictorOptions.QueueCapacity"/>).</summary>
    public int QueueLength => _queue.Reader.Count;

    /// <summary>Session runs so far; <see cref="ScoredImages"/> ÷ this is the mean batch size.</summary>
    public long Batches => Interlocked.Read(ref _batches);

    /// <summary>Predicts one encoded image (the contents of a JPEG, PNG, BMP, GIF or WebP file) in the next batch.</summary>
    /// <param name="encodedImage">The file's bytes; decoded on the calling thread.</param>
    /// <param name="top">Classes to report, at least 1 (fewer when the model has fewer). Default 5.</param>
    /// <param name="source">What the bytes are, for error messages and <see cref="ImagePrediction.Source"/>. Default <c>bytes</c>.</param>
    /// <param name="cancellationToken">Cancels the call; an image still waiting is then not scored.</param>
    /// <exception cref="InvalidDataException">The bytes are not a decodable image (not an image, truncated, too many
    /// pixels); the message says why.</exception>
    /// <exception cref="PredictionQueueFullException">The queue is full; nothing was accepted.</exception>
    /// <exception cref="ObjectDisposedException">The batcher is stopping or stopped.</exception>
    public Task<ImagePrediction> PredictAsync(byte[] encodedImage, int top = EfficientNetPredictorOptions.Defaults.Top, string source = "bytes", CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(encodedImage);
        ArgumentNullException.ThrowIfNull(source);
        return Submit(_predictor.Sources.Bytes(encodedImage, source), top, explain: false, cancellationToken);
    }

    /// <summary>Predicts one decoded image (for example from ML.NET's <c>LoadImages</c>) in the next batch; the image is not disposed.</summary>
    /// <param name="image">The image; its pixels are extracted on the calling thread, before this returns a task.</param>
    /// <param name="top">Classes to report, at least 1. Default 5.</param>
    /// <param name="cancellationToken">Cancels the call; an image still waiting is then not scored.</param>
    /// <exception cref="PredictionQueueFullException">The queue is full; nothing was accepted.</exception>
    /// <exception cref="ObjectDisposedException">The batcher is stopping or stopped.</exception>
    public Task<ImagePrediction> PredictAsync(MLImage image, int top = EfficientNetPredictorOptions.Defaults.Top, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(image);
        return Submit(PredictorImageSources.Image(image), top, explain: false, cancellationToken);
    }

    /// <summary>
    /// Predicts one encoded image in the next batch, with the predicted class's activation map
    /// (<see cref="ImagePrediction.ActivationMap"/>; render it with <see cref="ClassActivationMap.RenderPng(byte[])"/>).
    /// </summary>
    /// <param name="encodedImage">The file's bytes; decoded on the calling thread.</param>
    /// <param name="top">Classes to report, at least 1. Default 5.</param>
    /// <param name="source">What the bytes are, for error messages. Default <c>bytes</c>.</param>
    /// <param name="cancellationToken">Cancels the call; an image still waiting is then not scored.</param>
    /// <exception cref="InvalidDataException">The bytes are not a decodable image; the message says why.</exception>
    /// <exception cref="PredictionQueueFullException">The queue is full; nothing was accepted.</exception>
    /// <exception cref="ObjectDisposedException">The batcher is stopping or stopped.</exception>
    public Task<ImagePrediction> ExplainAsync(byte[] encodedImage, int top = EfficientNetPredictorOptions.Defaults.Top, string source = "bytes", CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(encodedImage);
        ArgumentNullException.ThrowIfNull(source);
        return Submit(_predictor.Sources.Bytes(encodedImage, source), top, explain: true, cancellationToken);
    }

    private Task<ImagePrediction> Submit(PredictorImage image, int top, bool explain, CancellationToken cancellationToken)
    {
        if (top < 1) throw new ArgumentOutOfRangeException(nameof(top), top, "top must be at least 1.");
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        cancellationToken.ThrowIfCancellationRequested();
        // The caller's thread does the decoding and pixel work, so the consumer only packs and runs batches.
        Interlocked.Increment(ref _preparing);
        try
        {
            return Enqueue(image.Source, _predictor.PrepareInput(image), top, explain, cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref _preparing);
        }
    }

    private Task<ImagePrediction> Enqueue(string source, float[] input, int top, bool explain, CancellationToken cancellationToken)
    {
        var request = new Request(source, input, top, explain, cancellationToken);
        if (cancellationToken.CanBeCanceled)
            request.Registration = cancellationToken.Register(static r => ((Request)r!).Completion.TrySetCanceled(((Request)r!).CancellationToken), request);
        if (!_queue.Writer.TryWrite(request))
        {
            request.Registration.Dispose();
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            throw new PredictionQueueFullException(_options.QueueCapacity);
        }
        return request.Completion.Task;
    }

    private async Task ConsumeAsync()
    {
        var reader = _queue.Reader;
        var batch = new List<Request>(_options.MaxBatch);
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            if (BeforeBatchForTests is { } hold) await hold().ConfigureAwait(false);
            batch.Clear();
            if (!reader.TryRead(out var first)) continue;
            batch.Add(first);
            if (_options.MaxBatch > 1) await FillAsync(reader, batch).ConfigureAwait(false);
            ScoreBatch(batch);
        }
    }

    /// <summary>
    /// Adds waiting images to <paramref name="batch"/> until it is full, <see cref="BatchingPredictorOptions.MaxWait"/>
    /// has passed, the queue is completed, or no caller is preparing an image that could still join it.
    /// </summary>
    private async Task FillAsync(ChannelReader<Request> reader, List<Request> batch)
    {
        while (batch.Count < _options.MaxBatch && reader.TryRead(out var next)) batch.Add(next);
        // A lone client gains nothing from waiting: its next image comes only after this answer.
        if (batch.Count == _options.MaxBatch || _options.MaxWait == TimeSpan.Zero || Volatile.Read(ref _preparing) == 0) return;
        using var deadline = new CancellationTokenSource(_options.MaxWait);
        try
        {
            while (batch.Count < _options.MaxBatch && await reader.WaitToReadAsync(deadline.Token).ConfigureAwait(false))
            {
                while (batch.Count < _options.MaxBatch && reader.TryRead(out var next)) batch.Add(next);
                if (Volatile.Read(ref _preparing) == 0) return;
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            // The wait is over: score what arrived.
        }
    }

    private void ScoreBatch(List<Request> batch)
    {
        // A request cancelled (or otherwise completed) while it waited is dropped here, before the session runs.
        var live = batch.Where(r => !r.Completion.Task.IsCompleted && !r.CancellationToken.IsCancellationRequested).ToList();
        foreach (var r in batch.Except(live))
        {
            r.Completion.TrySetCanceled(r.CancellationToken);
            r.Registration.Dispose();
        }
        if (live.Count == 0) return;
        try
        {
            int length = _predictor.InputLength;
            var input = new float[live.Count * length];
            for (int i = 0; i < live.Count; i++) live[i].Input.CopyTo(input, i * length);
            var (logits, maps) = _predictor.RunBatch(input, live.Count, live.Any(r => r.Explain));
            Interlocked.Add(ref _scoredImages, live.Count);
            Interlocked.Increment(ref _batches);
            for (int i = 0; i < live.Count; i++)
            {
                var r = live[i];
                int index = i;
                // Softmax, ranking and the map go back to the thread pool, off the scoring loop.
                _ = Task.Run(() =>
                {
                    try
                    {
                        r.Completion.TrySetResult(_predictor.Result(r.Source, logits, index, r.Explain ? maps : null, r.Top, classIndex: null));
                    }
                    catch (Exception e)
                    {
                        r.Completion.TrySetException(e);
                    }
                    finally
                    {
                        r.Registration.Dispose();
                    }
                });
            }
        }
        catch (Exception e)
        {
            // A failed run fails its own batch only; the loop goes on with the next.
            foreach (var r in live)
            {
                r.Completion.TrySetException(e);
                r.Registration.Dispose();
            }
        }
    }

    /// <summary>
    /// Stops accepting images, scores every image already accepted (their tasks complete normally), then returns. Calls
    /// made after this began throw <see cref="ObjectDisposedException"/>. The predictor is not disposed.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            await _consumer.ConfigureAwait(false);
            return;
        }
        _queue.Writer.TryComplete();
        await _consumer.ConfigureAwait(false);
    }

    private sealed class Request(string source, float[] input, int top, bool explain, CancellationToken cancellationToken)
    {
        public string Source { get; } = source;
        public float[] Input { get; } = input;
        public int Top { get; } = top;
        public bool Explain { get; } = explain;
        public CancellationToken CancellationToken { get; } = cancellationToken;
        public TaskCompletionSource<ImagePrediction> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public CancellationTokenRegistration Registration { get; set; }
    }
}
