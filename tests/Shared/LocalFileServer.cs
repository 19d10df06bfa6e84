using System.Net;
using System.Net.Sockets;

namespace EfficientNetML.Testing;

/// <summary>
/// An HTTP server on 127.0.0.1 that serves files from memory, honours Range requests, and can cut the first responses
/// short to simulate a dropped connection. Counts requests for assertions.
/// </summary>
public sealed class LocalFileServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Dictionary<string, byte[]> _files = new(StringComparer.Ordinal);
    private readonly Task _loop;
    private int _truncationsLeft;

    public LocalFileServer()
    {
        int port = FreePort();
        BaseUrl = new Uri($"http://127.0.0.1:{port}/");
        _listener.Prefixes.Add(BaseUrl.ToString());
        _listener.Start();
        _loop = Task.Run(Serve);
    }

    public Uri BaseUrl { get; }

    public List<string> Requests { get; } = [];

    /// <summary>Bytes sent before a cut connection, for the next <see cref="CutNextResponses"/> responses.</summary>
    public int CutAfterBytes { get; set; }

    /// <summary>Delay before each response, to make concurrent clients overlap.</summary>
    public TimeSpan Delay { get; set; }

    public void CutNextResponses(int count) => _truncationsLeft = count;

    /// <summary>Status codes to answer instead of the file, by name (500, 404 …).</summary>
    public Dictionary<string, int> FailWith { get; } = new(StringComparer.Ordinal);

    /// <summary>Bytes sent before a response stalls for <see cref="StallFor"/>; negative (default): never stall.</summary>
    public int StallAfterBytes { get; set; } = -1;

    /// <summary>How long a stalling response sends nothing before it sends the rest.</summary>
    public TimeSpan StallFor { get; set; }

    /// <summary>Ends every response early (after <see cref="CutAfterBytes"/>) without a Content-Length, so only the hash can tell.</summary>
    public bool TruncateSilently { get; set; }

    public Uri Add(string name, byte[] content)
    {
        _files[name] = content;
        return new Uri(BaseUrl, name);
    }

    private async Task Serve()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try { context = await _listener.GetContextAsync(); }
            catch (Exception) { return; }
            _ = Task.Run(() => Handle(context));
        }
    }

    private async Task Handle(HttpListenerContext context)
    {
        string name = context.Request.Url!.AbsolutePath.TrimStart('/');
        string? range = context.Request.Headers["Range"];
        lock (Requests) Requests.Add(range is null ? name : $"{name} {range}");
        var response = context.Response;
        try
        {
            if (Delay > TimeSpan.Zero) await Task.Delay(Delay);
            if (FailWith.TryGetValue(name, out int status))
            {
                response.StatusCode = status;
                response.Close();
                return;
            }
            if (!_files.TryGetValue(name, out var content))
            {
                response.StatusCode = 404;
                response.Close();
                return;
            }
            long start = 0;
            if (range is not null && range.StartsWith("bytes=", StringComparison.Ordinal))
            {
                start = long.Parse(range["bytes=".Length..].Split('-')[0], System.Globalization.CultureInfo.InvariantCulture);
                if (start >= content.Length) { response.StatusCode = 416; response.Close(); return; }
                response.StatusCode = 206;
                response.Headers["Content-Range"] = $"bytes {start}-{content.Length - 1}/{content.Length}";
            }
            if (TruncateSilently)
            {
                response.SendChunked = true;
                await response.OutputStream.WriteAsync(content.AsMemory((int)start, Math.Min(CutAfterBytes, content.Length - (int)start)));
                response.Close();
                return;
            }
            response.ContentLength64 = content.Length - start;
            if (StallAfterBytes >= 0)
            {
                int first = Math.Min(StallAfterBytes, content.Length - (int)start);
                await response.OutputStream.WriteAsync(content.AsMemory((int)start, first));
                await response.OutputStream.FlushAsync();
                await Task.Delay(StallFor);
                await response.OutputStream.WriteAsync(content.AsMemory((int)start + first, content.Length - (int)start - first));
                response.Close();
                return;
            }
            bool cut = Interlocked.Decrement(ref _truncationsLeft) >= 0;
            int length = cut ? Math.Min(CutAfterBytes, content.Length - (int)start) : content.Length - (int)start;
            await response.OutputStream.WriteAsync(content.AsMemory((int)start, length));
            if (cut) { response.Abort(); return; }
            response.Close();
        }
        catch (Exception)
        {
            response.Abort();
        }
    }

    private static int FreePort()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        try { _loop.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
    }
}
