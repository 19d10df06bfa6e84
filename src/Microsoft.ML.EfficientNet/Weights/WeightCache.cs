using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.Logging;
using Microsoft.ML.EfficientNet.IO;

namespace Microsoft.ML.EfficientNet.Weights;

/// <summary>
/// A folder of downloaded weight files. <see cref="Fetch"/> returns a verified local copy, downloading it when needed:
/// into a <c>.partial</c> file that later attempts resume (HTTP range requests), checked against the published SHA-256,
/// then renamed into place atomically, all under a lock file so concurrent processes neither corrupt nor duplicate it.
/// </summary>
internal sealed class WeightCache
{
    /// <summary>Environment variable naming the cache folder when no folder is given in code.</summary>
    public const string DirectoryVariable = "EFFICIENTNETML_CACHE";

    private static readonly HttpClient SharedClient = new() { Timeout = TimeSpan.FromMinutes(30) };
    private readonly HttpClient _client;
    private readonly ILogger? _logger;

    /// <summary>Creates a cache over a folder.</summary>
    /// <param name="directory">The folder; default null: <see cref="DirectoryVariable"/>, else the per-user default
    /// (<c>$XDG_CACHE_HOME/efficientnetml</c>, <c>~/.cache/efficientnetml</c>, or <c>%LOCALAPPDATA%\efficientnetml</c>).</param>
    /// <param name="logger">Receives download progress and retries; optional.</param>
    /// <param name="client">HTTP client for downloads; default a shared client with a 30-minute timeout.</param>
    public WeightCache(string? directory = null, ILogger? logger = null, HttpClient? client = null)
    {
        Directory = Path.GetFullPath(directory ?? DefaultDirectory());
        _logger = logger;
        _client = client ?? SharedClient;
    }

    /// <summary>The cache folder.</summary>
    public string Directory { get; }

    /// <summary>Download attempts before giving up; each later attempt resumes where the previous stopped. Default 3.</summary>
    public int MaxAttempts { get; init; } = 3;

    /// <summary>How long to wait for another process that holds the lock on the same file. Default 30 minutes.</summary>
    public TimeSpan LockTimeout { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>Environment variable: seconds a download may go without receiving a byte, when <see cref="StallTimeout"/> is not set in code.</summary>
    public const string StallTimeoutVariable = "EFFICIENTNETML_DOWNLOAD_TIMEOUT";

    /// <summary>
    /// How long one download attempt may wait for the response headers or for the next bytes of the body; a server
    /// that sends nothing for this long fails the attempt (the partial file is kept for the next attempt to resume).
    /// Default 60 seconds, or <see cref="StallTimeoutVariable"/> (seconds) when set.
    /// </summary>
    public TimeSpan StallTimeout { get; init; } = DefaultStallTimeout();

    private static TimeSpan DefaultStallTimeout() =>
        double.TryParse(Environment.GetEnvironmentVariable(StallTimeoutVariable), System.Globalization.NumberStyles.Float,
            System.Globalization.CultureInfo.InvariantCulture, out double seconds) && seconds > 0
            ? TimeSpan.FromSeconds(seconds)
            : TimeSpan.FromSeconds(60);

    /// <summary>The per-user default folder, after <see cref="DirectoryVariable"/>.</summary>
    public static string DefaultDirectory()
    {
        if (Environment.GetEnvironmentVariable(DirectoryVariable) is { Length: > 0 } configured) return configured;
        if (OperatingSystem.IsWindows())
            return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "efficientnetml");
        string cacheHome = Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg
            ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(cacheHome, "efficientnetml");
    }

    /// <summary>The path a file has (or will have) in the cache.</summary>
    /// <param name="weights">The published file.</param>
    public string PathFor(PretrainedWeights weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        return Path.Combine(Directory, weights.FileName);
    }

    /// <summary>
    /// Returns the local path of a verified copy, downloading it first if it is not in the cache.
    /// </summary>
    /// <param name="weights">The published file.</param>
    /// <param name="allowDownload">False: never touch the network; a missing file is an error that says where to put it.</param>
    /// <param name="cancellationToken">Cancels a download (the partial file is kept for resuming).</param>
    /// <exception cref="FileNotFoundException">The file is not cached and cannot be downloaded; the message says which file to put where.</exception>
    /// <exception cref="InvalidDataException">The file's SHA-256 does not match (the bad file is not kept).</exception>
    public string Fetch(PretrainedWeights weights, bool allowDownload = true, CancellationToken cancellationToken = default)
    {
        string path = PathFor(weights);
        if (File.Exists(path)) return Verified(path, weights);
        if (!allowDownload) throw Missing(weights, path, "downloads are turned off");

        System.IO.Directory.CreateDirectory(Directory);
        using (AcquireLock(path + ".lock", cancellationToken))
        {
            // Another process may have finished the download while this one waited for the lock.
            if (File.Exists(path)) return Verified(path, weights);
            string partial = path + ".partial";
            Exception? last = null;
            for (int attempt = 1; attempt <= MaxAttempts; attempt++)
            {
                try
                {
                    Download(weights.Url, partial, cancellationToken);
                    last = null;
                    break;
                }
                catch (HttpRequestException e) when (e.StatusCode is { } status && (int)status is >= 400 and < 500 and not 408 and not 429)
                {
                    // A client error (404: wrong address or mirror) does not go away by asking again.
                    last = e;
                    break;
                }
                catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
                {
                    last = e;
                    _logger?.LogWarning("Download of {Url} failed (attempt {Attempt} of {Max}): {Message}", weights.Url, attempt, MaxAttempts, e.Message);
                    if (attempt < MaxAttempts) Thread.Sleep(TimeSpan.FromMilliseconds(250 * attempt * attempt));
                }
            }
            if (last is HttpRequestException { StatusCode: { } code } && (int)code is >= 400 and < 500 and not 408 and not 429)
                throw Missing(weights, path, $"downloading {weights.Url} failed with HTTP {(int)code} ({code}), which retrying cannot fix", last);
            if (last is not null) throw Missing(weights, path, $"downloading {weights.Url} failed {MaxAttempts} times ({last.Message})", last);

            string actual = FileHash.Sha256(partial);
            if (!actual.StartsWith(weights.Sha256, StringComparison.OrdinalIgnoreCase))
            {
                File.Delete(partial);
                throw new InvalidDataException($"The file downloaded from {weights.Url} has SHA-256 {actual}, but {weights.FileName} must start with " +
                    $"{weights.Sha256}. It was deleted; the server sent another or a damaged file.");
            }
            File.Move(partial, path, overwrite: true);
            WriteVerifiedMarker(path);
            _logger?.LogInformation("Downloaded {File} ({Bytes:N0} bytes) into {Directory}", weights.FileName, new FileInfo(path).Length, Directory);
            return path;
        }
    }

    private void Download(Uri url, string partial, CancellationToken cancellationToken)
    {
        long existing = File.Exists(partial) ? new FileInfo(partial).Length : 0;
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (existing > 0) request.Headers.Range = new RangeHeaderValue(existing, null);
        // A stall timer, restarted by every received block: a slow but moving download is never cut.
        using var stall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        stall.CancelAfter(StallTimeout);
        HttpResponseMessage sent;
        try { sent = _client.Send(request, HttpCompletionOption.ResponseHeadersRead, stall.Token); }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw Stalled(url, existing, e);
        }
        using var response = sent;
        bool resumed = existing > 0 && response.StatusCode == HttpStatusCode.PartialContent;
        if (existing > 0 && response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
        {
            // The partial file is already complete (or longer than the file): start over to be safe.
            File.Delete(partial);
            Download(url, partial, cancellationToken);
            return;
        }
        response.EnsureSuccessStatusCode();
        if (existing > 0) _logger?.LogInformation(resumed ? "Resuming {Url} at byte {Offset:N0}" : "Server ignored the range request; restarting {Url}", url, existing);
        using var source = response.Content.ReadAsStream(cancellationToken);
        using var target = new FileStream(partial, resumed ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.None);
        var buffer = new byte[81920];
        while (true)
        {
            int read;
            try { read = source.ReadAsync(buffer, stall.Token).AsTask().GetAwaiter().GetResult(); }
            catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
            {
                target.Flush();
                throw Stalled(url, target.Length, e);
            }
            if (read == 0) break;
            target.Write(buffer, 0, read);
            stall.CancelAfter(StallTimeout);
        }
        long? expected = response.Content.Headers.ContentLength;
        if (expected is { } length && target.Length != (resumed ? existing : 0) + length)
            throw new IOException($"The connection closed after {target.Length:N0} bytes of {url}.");
    }

    private IOException Stalled(Uri url, long bytes, Exception inner) =>
        new($"{url} sent nothing for {StallTimeout.TotalSeconds:0.###} s (after {bytes:N0} bytes); the attempt timed out " +
            $"(WeightCache.StallTimeout or {StallTimeoutVariable}).", inner);

    private string Verified(string path, PretrainedWeights weights)
    {
        // Hashing a 265 MB file on every use is wasteful: a marker records the size and time of the verified file.
        string marker = path + ".sha256";
        var info = new FileInfo(path);
        string stamp = $"{info.Length} {info.LastWriteTimeUtc.Ticks}";
        if (File.Exists(marker) && File.ReadAllLines(marker) is [var hash, var recorded] && recorded == stamp &&
            hash.StartsWith(weights.Sha256, StringComparison.OrdinalIgnoreCase))
            return path;
        string actual = FileHash.Sha256(path);
        if (!actual.StartsWith(weights.Sha256, StringComparison.OrdinalIgnoreCase))
            throw new InvalidDataException($"Cached file {path} has SHA-256 {actual}, but {weights.FileName} must start with {weights.Sha256}. " +
                "Delete it to download it again.");
        WriteVerifiedMarker(path, actual);
        return path;
    }

    private static void WriteVerifiedMarker(string path, string? hash = null)
    {
        var info = new FileInfo(path);
        AtomicFile.WriteAllBytes(path + ".sha256", System.Text.Encoding.ASCII.GetBytes($"{hash ?? FileHash.Sha256(path)}\n{info.Length} {info.LastWriteTimeUtc.Ticks}\n"));
    }

    private FileStream AcquireLock(string lockPath, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + LockTimeout;
        bool told = false;
        while (true)
        {
            try
            {
                // FileShare.None is an exclusive advisory lock between processes (flock on Unix). The lock file stays:
                // deleting it on close would let a waiter lock the old, unlinked file while a newcomer locks a new one.
                return new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                if (!told) _logger?.LogInformation("Waiting for another process downloading into {Path}", lockPath);
                told = true;
                cancellationToken.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(200));
                cancellationToken.ThrowIfCancellationRequested();
            }
        }
    }

    private static FileNotFoundException Missing(PretrainedWeights weights, string path, string reason, Exception? inner = null) =>
        new($"EfficientNet-{weights.Variant.Name} weights are not in the cache and {reason}. Download {weights.Url} " +
            $"on a machine with network access and put it at {path} (the folder is set by WeightCache/CacheDirectory or " +
            $"the {DirectoryVariable} environment variable), or pass the file as WeightsPath.", path, inner);
}
