using Microsoft.Extensions.Logging;
using Microsoft.ML.EfficientNet.Architecture;

namespace Microsoft.ML.EfficientNet.Weights;

/// <summary>
/// Which weights a network should start from, as <see cref="WeightsResolver.Resolve"/> reads it: an explicit checkpoint
/// file, else a published file from the cache (downloaded when missing and allowed), else — only when
/// <see cref="UseRandomWeights"/> asks for them — seeded random weights.
/// </summary>
/// <param name="Variant">The variant the weights must be.</param>
internal sealed record WeightsRequest(EfficientNetVariant Variant)
{
    /// <summary>A checkpoint file (.pth, .safetensors) in any supported format. Default null: a published file.</summary>
    public string? File { get; init; }

    /// <summary>Format of <see cref="File"/>. Default null: detected from its key names.</summary>
    public WeightFormat? Format { get; init; }

    /// <summary>The option or argument <see cref="File"/> came from, named in errors (for example <c>WeightsPath</c>). Default <c>weights file</c>.</summary>
    public string FileDescription { get; init; } = "weights file";

    /// <summary>The published file to use when <see cref="File"/> is null. Default null: <see cref="PretrainedWeights.Default"/> for the variant.</summary>
    public PretrainedWeights? Pretrained { get; init; }

    /// <summary>Cache folder of published files. Default null: <see cref="WeightCache.DefaultDirectory"/>.</summary>
    public string? CacheDirectory { get; init; }

    /// <summary>Whether a published file missing from the cache may be downloaded. Default true.</summary>
    public bool AllowDownload { get; init; } = true;

    /// <summary>Seeded random weights instead of a file; never chosen unless set. Default false.</summary>
    public bool UseRandomWeights { get; init; }

    /// <summary>Seed of <see cref="UseRandomWeights"/>. Default 0.</summary>
    public int RandomSeed { get; init; }

    /// <summary>Classifier outputs of the network to build. Default null: the checkpoint's own (1000 for random weights).</summary>
    public int? NumClasses { get; init; }

    /// <summary>True: a classifier whose class count differs from <see cref="NumClasses"/> is dropped for a new one. Default false.</summary>
    public bool ReplaceHead { get; init; }

    /// <summary>Receives download progress and warnings; optional.</summary>
    public ILogger? Logger { get; init; }
}

/// <summary>
/// The one place that decides which weights a network gets, for the featurizer and the trainer alike: explicit file →
/// cache → download → random only when asked. Missing weights are an error naming the file or address, never a silent
/// fall-back to random weights.
/// </summary>
internal static class WeightsResolver
{
    /// <summary>Loads the weights a request names and checks them against the variant's spec.</summary>
    /// <param name="request">What to load.</param>
    /// <param name="cancellationToken">Cancels a download (the partial file is kept for resuming).</param>
    /// <exception cref="ArgumentException">Both a file and random weights are asked for, or the published file is another variant's.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist, or a published file is not cached and cannot be downloaded (the message names the address and where to put the file).</exception>
    /// <exception cref="InvalidDataException">The file is unreadable or does not hash to the published SHA-256.</exception>
    /// <exception cref="CheckpointMismatchException">The weights do not fit the variant.</exception>
    public static EfficientNetCheckpoint Resolve(WeightsRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(request.Variant);
        var variant = request.Variant;
        if (request.UseRandomWeights && request.File is not null)
            throw new ArgumentException($"Set either a {request.FileDescription} ('{request.File}') or random weights, not both.", nameof(request));
        if (request.UseRandomWeights)
            return RandomWeights.Create(EfficientNetSpec.Create(variant, request.NumClasses ?? 1000), request.RandomSeed);

        var load = new CheckpointLoadOptions { Format = request.Format, NumClasses = request.NumClasses, ReplaceHead = request.ReplaceHead };
        if (request.File is { } file)
        {
            if (!System.IO.File.Exists(file)) throw new FileNotFoundException($"{request.FileDescription} '{file}' does not exist.", file);
            return EfficientNetCheckpoint.Load(file, variant, load);
        }

        var published = request.Pretrained ?? PretrainedWeights.Default(variant);
        load.Format = published.Format;
        return EfficientNetCheckpoint.Load(FetchPublished(published, request, cancellationToken), variant, load);
    }

    /// <summary>
    /// The local path of a published file for a request: the cached copy, or a download when allowed, checked against the
    /// file's SHA-256.
    /// </summary>
    /// <param name="published">The published file.</param>
    /// <param name="request">The cache folder, download permission, logger and the variant the file must hold.</param>
    /// <param name="cancellationToken">Cancels a download.</param>
    /// <exception cref="ArgumentException">The file holds another variant than the request's.</exception>
    public static string FetchPublished(PretrainedWeights published, WeightsRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(published);
        ArgumentNullException.ThrowIfNull(request);
        if (!published.Variant.Equals(request.Variant))
            throw new ArgumentException($"Pretrained file {published.FileName} holds EfficientNet-{published.Variant.Name} weights but {request.Variant.Name} was asked for.", nameof(published));
        // lukemelas and timm publish no digests; say so rather than let an unchecked file pass unnoticed.
        if (!published.HasDigest)
            request.Logger?.LogWarning("No SHA-256 is published for {File} ({Url}); its contents are not verified.", published.FileName, published.Url);
        return new WeightCache(request.CacheDirectory, request.Logger).Fetch(published, request.AllowDownload, cancellationToken);
    }
}
