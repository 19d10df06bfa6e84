using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace EfficientNet.WebService.Tests;

/// <summary>
/// Headless Chromium driven over the DevTools protocol: a browser process on a temporary profile, one page, commands
/// sent as JSON over its WebSocket and answered by id (events are skipped). Enough to open a page, choose a file in an
/// input, read the page's state and take a screenshot, without a browser-automation package that downloads browsers.
/// </summary>
internal sealed partial class DevToolsClient : IAsyncDisposable
{
    private readonly Process _browser;
    private readonly TemporaryDirectory _profile;
    private readonly ClientWebSocket _socket = new();
    private int _nextId;

    private DevToolsClient(Process browser, TemporaryDirectory profile)
    {
        _browser = browser;
        _profile = profile;
    }

    /// <summary>Debian's Chromium, or null when it is not installed.</summary>
    public static string? FindChromium() =>
        new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists);

    /// <summary>Starts headless Chromium with a <paramref name="width"/> × <paramref name="height"/> window and connects to its page.</summary>
    public static async Task<DevToolsClient> StartAsync(string chromium, int width, int height, TimeSpan timeout)
    {
        var profile = new TemporaryDirectory();
        var start = new ProcessStartInfo(chromium)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        // --no-sandbox: tests run as root in CI, where Chromium's sandbox refuses to start.
        foreach (string a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--hide-scrollbars",
            "--remote-debugging-port=0", $"--user-data-dir={profile.Path}", $"--window-size={width},{height}", "about:blank" })
            start.ArgumentList.Add(a);
        var browser = Process.Start(start) ?? throw new InvalidOperationException($"{chromium} did not start.");
        var client = new DevToolsClient(browser, profile);
        try
        {
            _ = browser.StandardOutput.ReadToEndAsync();
            // Chromium prints "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/ID" once its endpoint is up.
            using var deadline = new CancellationTokenSource(timeout);
            string? line, log = "";
            Uri? endpoint = null;
            while (endpoint is null && (line = await browser.StandardError.ReadLineAsync(deadline.Token)) is not null)
            {
                log += line + "\n";
                if (Listening().Match(line) is { Success: true } m) endpoint = new Uri(m.Groups[1].Value);
            }
            if (endpoint is null) throw new InvalidOperationException($"Chromium exited before its DevTools endpoint was up:\n{log}");
            _ = DrainAsync(browser.StandardError);
            using var http = new HttpClient();
            var targets = JsonNode.Parse(await http.GetStringAsync(new Uri($"http://{endpoint.Authority}/json/list"), deadline.Token))!.AsArray();
            string page = targets.First(t => (string?)t!["type"] == "page")!["webSocketDebuggerUrl"]!.GetValue<string>();
            await client._socket.ConnectAsync(new Uri(page), deadline.Token);
            return client;
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

    private static async Task DrainAsync(StreamReader reader)
    {
        try
        {
            while (await reader.ReadLineAsync() is not null) { }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // The browser is gone.
        }
    }

    /// <summary>Sends one command and returns its <c>result</c>; a protocol error throws with the browser's message.</summary>
    public async Task<JsonNode> SendAsync(string method, object? parameters = null, CancellationToken cancellationToken = default)
    {
        int id = Interlocked.Increment(ref _nextId);
        var message = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = JsonSerializer.SerializeToNode(parameters ?? new { }) };
        await _socket.SendAsync(Encoding.UTF8.GetBytes(message.ToJsonString()), WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
        while (true)
        {
            var reply = JsonNode.Parse(await ReceiveAsync(cancellationToken))!;
            if ((int?)reply["id"] != id) continue;
            if (reply["error"] is { } error) throw new InvalidOperationException($"{method}: {error.ToJsonString()}");
            return reply["result"]!;
        }
    }

    /// <summary>Evaluates a JavaScript expression in the page and returns its value (awaiting a promise).</summary>
    public async Task<JsonNode?> EvaluateAsync(string expression, CancellationToken cancellationToken = default)
    {
        var result = await SendAsync("Runtime.evaluate", new { expression, returnByValue = true, awaitPromise = true }, cancellationToken);
        if (result["exceptionDetails"] is { } exception) throw new InvalidOperationException($"{expression}: {exception.ToJsonString()}");
        return result["result"]!["value"];
    }

    private async Task<string> ReceiveAsync(CancellationToken cancellationToken)
    {
        var buffer = new byte[1 << 16];
        using var message = new MemoryStream();
        WebSocketReceiveResult received;
        do
        {
            received = await _socket.ReceiveAsync(buffer, cancellationToken);
            if (received.MessageType == WebSocketMessageType.Close) throw new InvalidOperationException("Chromium closed the DevTools connection.");
            message.Write(buffer, 0, received.Count);
        }
        while (!received.EndOfMessage);
        return Encoding.UTF8.GetString(message.GetBuffer(), 0, (int)message.Length);
    }

    /// <summary>Closes the connection, ends the browser and deletes its profile.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_socket.State == WebSocketState.Open) await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        }
        catch (WebSocketException)
        {
            // The browser went first.
        }
        _socket.Dispose();
        if (!_browser.HasExited) _browser.Kill(entireProcessTree: true);
        await _browser.WaitForExitAsync();
        _browser.Dispose();
        _profile.Dispose();
    }

    [GeneratedRegex(@"DevTools listening on (ws://\S+)")]
    private static partial Regex Listening();
}
