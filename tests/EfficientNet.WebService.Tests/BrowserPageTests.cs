using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using SkiaSharp;

namespace EfficientNet.WebService.Tests;

/// <summary>
/// The page in a real browser: the service started as a process on a loopback port (Kestrel, as
/// <c>samples/web-service.sh</c> starts it), headless Chromium opens <c>/</c>, an image is chosen in the file input, and
/// the page shows the top label the service gives and the class activation map. The screenshot is kept in
/// <c>artifacts/web-service/page.png</c>.
/// </summary>
[TestClass]
public sealed class BrowserPageTests
{
    public TestContext TestContext { get; set; } = null!;

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    [TestMethod]
    public async Task ChoosingAnImageShowsTheTopLabelAndTheMap()
    {
        if (DevToolsClient.FindChromium() is not { } chromium)
        {
            Assert.Inconclusive("Chromium is not installed (scripts/setup.sh installs Debian's chromium).");
            return;
        }
        string image = Path.Combine(ImageData.Folder, "round", "round_00.jpg");
        await using var service = await ServiceProcess.StartAsync(ServiceModel.ModelPath, Timeout);
        using var http = new HttpClient { BaseAddress = service.Address };
        var body = new ByteArrayContent(File.ReadAllBytes(image));
        body.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
        var expected = await (await http.PostAsync("/predict?top=5", body)).Content.ReadFromJsonAsync<JsonElement>();
        string topLabel = expected.GetProperty("predictions")[0].GetProperty("label").GetString()!;

        using var deadline = new CancellationTokenSource(Timeout);
        await using var browser = await DevToolsClient.StartAsync(chromium, 1100, 700, Timeout);
        await browser.SendAsync("Emulation.setDeviceMetricsOverride", new { width = 1100, height = 700, deviceScaleFactor = 1, mobile = false }, deadline.Token);
        await browser.SendAsync("Page.navigate", new { url = new Uri(service.Address, "/").ToString() }, deadline.Token);
        await WaitForAsync(browser, "document.readyState === 'complete' && document.getElementById('file') !== null", deadline.Token);
        var document = await browser.SendAsync("DOM.getDocument", null, deadline.Token);
        var input = await browser.SendAsync("DOM.querySelector", new { nodeId = (int)document["root"]!["nodeId"]!, selector = "#file" }, deadline.Token);
        // Choosing the file as a user would: the input's files are set and its change event fires.
        await browser.SendAsync("DOM.setFileInputFiles", new { files = new[] { image }, nodeId = (int)input["nodeId"]! }, deadline.Token);
        await WaitForAsync(browser, "document.body.dataset.state === 'done' || document.body.dataset.state === 'error'", deadline.Token);

        string error = (string)(await browser.EvaluateAsync("document.getElementById('error').textContent", deadline.Token))!;
        Assert.AreEqual("", error, "the page shows no error");
        Assert.AreEqual(topLabel, (string?)await browser.EvaluateAsync("document.getElementById('top-label').textContent", deadline.Token));
        Assert.AreEqual(5, (int)(await browser.EvaluateAsync("document.querySelectorAll('#predictions tr').length", deadline.Token))!);
        using var original = SKBitmap.Decode(image);
        Assert.AreEqual(original.Width, (int)(await browser.EvaluateAsync("document.getElementById('cam').naturalWidth", deadline.Token))!, "the map, drawn over the image, is shown");
        Assert.AreEqual(original.Height, (int)(await browser.EvaluateAsync("document.getElementById('cam').naturalHeight", deadline.Token))!);

        var shot = await browser.SendAsync("Page.captureScreenshot", new { format = "png" }, deadline.Token);
        byte[] png = Convert.FromBase64String((string)shot["data"]!);
        string folder = Path.Combine(Fixtures.RepositoryRoot, "artifacts", "web-service");
        Directory.CreateDirectory(folder);
        string saved = Path.Combine(folder, "page.png");
        await File.WriteAllBytesAsync(saved, png, deadline.Token);
        TestContext.WriteLine($"top label {topLabel}; screenshot {saved}");
        using var screenshot = SKBitmap.Decode(png);
        Assert.AreEqual((1100, 700), (screenshot.Width, screenshot.Height));
        // The two pictures make the screenshot colourful; a blank or text-only page has a few dozen colours.
        var colours = new HashSet<SKColor>();
        for (int y = 0; y < screenshot.Height; y += 2)
            for (int x = 0; x < screenshot.Width; x += 2) colours.Add(screenshot.GetPixel(x, y));
        Assert.IsTrue(colours.Count > 1000, $"{colours.Count} colours in the screenshot: the pictures are not shown");
    }

    private static async Task WaitForAsync(DevToolsClient browser, string condition, CancellationToken cancellationToken)
    {
        while (!((bool?)await browser.EvaluateAsync(condition, cancellationToken) ?? false)) await Task.Delay(100, cancellationToken);
    }

    /// <summary>The service's own build, started as <c>samples/web-service.sh</c> starts it, on a free loopback port.</summary>
    private sealed class ServiceProcess : IAsyncDisposable
    {
        private readonly Process _process;

        private ServiceProcess(Process process, Uri address)
        {
            _process = process;
            Address = address;
        }

        public Uri Address { get; }

        public static async Task<ServiceProcess> StartAsync(string model, TimeSpan timeout)
        {
            // The test assembly's own configuration (bin/Release/... or bin/Debug/...) built the service too.
            string configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Debug" : "Release";
            string dll = Path.Combine(Fixtures.RepositoryRoot, "samples", "WebService", "bin", configuration, "net10.0", "linux-x64", "WebService.dll");
            Assert.IsTrue(File.Exists(dll), $"{dll} is missing: build the solution.");
            int port = FreePort();
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (string a in new[] { dll, "--model", model, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture) }) start.ArgumentList.Add(a);
            var process = Process.Start(start)!;
            var log = new System.Text.StringBuilder();
            process.OutputDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
            process.ErrorDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var service = new ServiceProcess(process, new Uri($"http://127.0.0.1:{port}"));
            using var http = new HttpClient { BaseAddress = service.Address, Timeout = TimeSpan.FromSeconds(5) };
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < timeout)
            {
                if (process.HasExited)
                {
                    await service.DisposeAsync();
                    lock (log) Assert.Fail($"The service exited with code {process.ExitCode}:\n{log}");
                }
                try
                {
                    if ((await http.GetAsync("/health")).StatusCode == HttpStatusCode.OK) return service;
                }
                catch (HttpRequestException)
                {
                    // Not listening yet.
                }
                await Task.Delay(200);
            }
            await service.DisposeAsync();
            lock (log) Assert.Fail($"The service did not answer /health within {timeout}:\n{log}");
            return null!;
        }

        private static int FreePort()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
            _process.Dispose();
        }
    }
}
