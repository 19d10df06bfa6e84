using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.ML.EfficientNet.Data;
using Microsoft.ML.EfficientNet.Preprocessing;

namespace EfficientNet.Training.Data;

/// <summary>
/// Streams training batches: images are decoded and augmented by worker threads while the model trains on the previous
/// batches, a few batches ahead, never the whole data set in memory. The order of an epoch and every random choice of an
/// image's augmentation derive from (seed, epoch, image), so a run is reproducible whatever the threading, and a resumed
/// run can skip batches without replaying them. An image that fails to load (missing, not an image, truncated, a header
/// claiming more than the decoder's pixel limit) is skipped, with one warning naming it per decoder (per run, however many
/// epochs); the batch is one image shorter.
/// </summary>
internal sealed class TrainingBatches
{
    private readonly LabeledImageSet _images;
    private readonly TrainAugmentation _augmentation;
    private readonly ILogger? _logger;
    private readonly ImageDecoder _decoder;

    /// <summary>Creates the stream.</summary>
    /// <param name="images">The training images.</param>
    /// <param name="augmentation">Crop, flip, resize and normalisation.</param>
    /// <param name="batchSize">Images per batch; the last batch of an epoch is dropped when incomplete (as is usual for training).</param>
    /// <param name="seed">Seed of orders and augmentations.</param>
    /// <param name="workers">Decoding threads; default one per logical processor.</param>
    /// <param name="prefetch">Batches prepared ahead; default 3.</param>
    /// <param name="logger">Receives warnings about images that fail to load.</param>
    /// <param name="decoder">The run's decoder (EXIF orientation, pixel limit, which failures were reported); default: a
    /// decoder of this stream's own, with the defaults.</param>
    public TrainingBatches(LabeledImageSet images, TrainAugmentation augmentation, int batchSize, int seed, int? workers = null, int prefetch = 3, ILogger? logger = null,
        ImageDecoder? decoder = null)
    {
        _decoder = decoder ?? new ImageDecoder(logger: logger);
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(augmentation);
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "Batch size must be at least 1.");
        if (images.Count < batchSize) throw new ArgumentException($"The training set has {images.Count} images, fewer than one batch of {batchSize}.", nameof(images));
        _images = images;
        _augmentation = augmentation;
        BatchSize = batchSize;
        Seed = seed;
        Workers = workers ?? Environment.ProcessorCount;
        Prefetch = Math.Max(1, prefetch);
        _logger = logger;
    }

    /// <summary>Images per batch.</summary>
    public int BatchSize { get; }

    /// <summary>Seed of orders and augmentations.</summary>
    public int Seed { get; }

    /// <summary>Decoding threads.</summary>
    public int Workers { get; }

    /// <summary>Batches prepared ahead.</summary>
    public int Prefetch { get; }

    /// <summary>Full batches per epoch.</summary>
    public int BatchesPerEpoch => _images.Count / BatchSize;

    /// <summary>The image order of an epoch: a permutation seeded by (seed, epoch).</summary>
    /// <param name="epoch">Zero-based epoch.</param>
    public int[] Order(int epoch)
    {
        var order = Enumerable.Range(0, _images.Count).ToArray();
        new Random(SampleSeed(Seed, epoch, -1)).Shuffle(order);
        return order;
    }

    /// <summary>The batches of one epoch, in order, starting at batch <paramref name="firstBatch"/>.</summary>
    /// <param name="epoch">Zero-based epoch.</param>
    /// <param name="firstBatch">Batches to skip (when resuming within an epoch).</param>
    /// <param name="cancellationToken">Stops the workers.</param>
    public IEnumerable<ImageBatch> Epoch(int epoch, int firstBatch = 0, CancellationToken cancellationToken = default)
    {
        var order = Order(epoch);
        var channel = Channel.CreateBounded<Task<ImageBatch>>(new BoundedChannelOptions(Prefetch) { SingleReader = true, SingleWriter = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // Neither task gets the token: a task cancelled before it starts never runs, so the producer would never complete
        // the channel (the reader would wait forever) and a batch task would throw instead of finishing.
        var producer = Task.Run(async () =>
        {
            try
            {
                for (int b = firstBatch; b < BatchesPerEpoch && !stop.IsCancellationRequested; b++)
                {
                    int batch = b;
                    await channel.Writer.WriteAsync(Task.Run(() => Build(order, epoch, batch)), stop.Token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) { }
            finally
            {
                channel.Writer.TryComplete();
            }
        });
        try
        {
            while (true)
            {
                var wait = channel.Reader.WaitToReadAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult();
                if (!wait) break;
                if (!channel.Reader.TryRead(out var next)) continue;
                yield return next.GetAwaiter().GetResult();
            }
        }
        finally
        {
            stop.Cancel();
            while (channel.Reader.TryRead(out var pending))
            {
                try { pending.Wait(); } catch (AggregateException) { }
            }
            try { producer.Wait(); } catch (AggregateException) { }
        }
    }

    private ImageBatch Build(int[] order, int epoch, int batch)
    {
        int size = _augmentation.OutputSize, length = size * size * 3;
        var pixels = new float[BatchSize * length];
        var labels = new long[BatchSize];
        var ok = new bool[BatchSize];
        Parallel.For(0, BatchSize, new ParallelOptions { MaxDegreeOfParallelism = Workers }, k =>
        {
            int index = order[batch * BatchSize + k];
            try
            {
                var image = _images.Load(index, _decoder);
                _augmentation.Apply(image, new Random(SampleSeed(Seed, epoch, index)), pixels.AsSpan(k * length, length));
                labels[k] = _images.Label(index);
                ok[k] = true;
            }
            catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
            {
                string source = _images.Describe(index);
                if (_decoder.FirstFailure(source)) _logger?.LogWarning("Skipped {Image}: {Reason}", source, e.Message);
            }
        });
        // Compact the batch when images failed.
        int count = 0;
        for (int k = 0; k < BatchSize; k++)
        {
            if (!ok[k]) continue;
            if (count != k)
            {
                pixels.AsSpan(k * length, length).CopyTo(pixels.AsSpan(count * length, length));
                labels[count] = labels[k];
            }
            count++;
        }
        return new ImageBatch(pixels, labels, count, size, ChannelsLast: true);
    }

    /// <summary>SplitMix64 of (seed, epoch, index): independent streams per image and epoch.</summary>
    internal static int SampleSeed(int seed, int epoch, int index)
    {
        ulong z = (ulong)(uint)seed * 0x9E3779B97F4A7C15UL ^ (ulong)(uint)epoch * 0xBF58476D1CE4E5B9UL ^ (ulong)(uint)index * 0x94D049BB133111EBUL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return (int)(z ^ (z >> 31));
    }
}
