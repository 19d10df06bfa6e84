using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using EfficientNetML.WebService;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.ML.EfficientNet.Scoring;
using SkiaSharp;

namespace EfficientNet.WebService.Tests;

/// <summary>The service's endpoints and errors, in process, against the predictor's own answers for the same model.</summary>
[TestClass]
public sealed class WebServiceTests
{
    // The service scores in batches; the predictor alone one image per run: summation order only.
    private const float ScoreTolerance = 1e-5f;

    private static readonly byte[] Jpeg = File.ReadAllBytes(Path.Combine(ImageData.Folder, ImageData.GoodRows().First(r => r.Path.EndsWith(".jpg", StringComparison.Ordinal)).Path));

    private static ByteArrayContent Raw(byte[] bytes, string type = "image/jpeg")
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue(type);
        return content;
    }

    private static MultipartFormDataContent Multipart(byte[] bytes, string field = "image")
    {
        var image = new ByteArrayContent(bytes);
        image.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
        return new MultipartFormDataContent { { image, field, "photo.jpg" } };
    }

    private static async Task<string> ErrorOf(HttpResponseMessage response)
    {
        Assert.AreEqual("application/json", response.Content.Headers.ContentType?.MediaType, await response.Content.ReadAsStringAsync());
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("error").GetString()!;
    }

    private static (string Label, float Score)[] Predictions(JsonElement answer) => answer.GetProperty("predictions").EnumerateArray()
        .Select(p => (p.GetProperty("label").GetString()!, p.GetProperty("score").GetSingle())).ToArray();

    [TestMethod]
    public async Task HealthSaysTheModelIsLoaded()
    {
        await using var service = ServiceModel.Service(("max-batch", "4"));
        using var client = service.CreateClient();
        var response = await client.GetAsync("/health");
        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode);
        var health = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.AreEqual("ok", health.GetProperty("status").GetString());
        Assert.AreEqual(Path.GetFullPath(ServiceModel.ModelPath), health.GetProperty("model").GetString());
        Assert.AreEqual(5, health.GetProperty("classes").GetInt32());
        Assert.AreEqual("CPU", health.GetProperty("provider").GetString());
        Assert.AreEqual(4, health.GetProperty("maxBatch").GetInt32());
    }

    [TestMethod]
    public async Task PredictAnswersAsThePredictorForARawBodyAndAMultipartField()
    {
        using var predictor = EfficientNetPredictor.Load(ServiceModel.ModelPath);
        await using var service = ServiceModel.Service();
        using var client = service.CreateClient();
        foreach (var (image, i) in ServiceModel.Images().Select((b, i) => (b, i)))
        {
            var expected = predictor.Predict(image, top: 5);
            var raw = await client.PostAsync("/predict", Raw(image));
            Assert.AreEqual(HttpStatusCode.OK, raw.StatusCode, await raw.Content.ReadAsStringAsync());
            var answer = await raw.Content.ReadFromJsonAsync<JsonElement>();
            var predictions = Predictions(answer);
            Assert.AreEqual(5, predictions.Length, "default top 5");
            for (int k = 0; k < 5; k++)
            {
                Assert.AreEqual(expected.Top[k].Label, predictions[k].Label, $"image {i}, rank {k}");
                Assert.AreEqual(expected.Top[k].Score, predictions[k].Score, ScoreTolerance, $"image {i}, rank {k}");
            }
            Assert.IsTrue(answer.GetProperty("ms").GetDouble() > 0, "ms is the service's time");

            var multipart = await client.PostAsync("/predict?top=2", Multipart(image));
            Assert.AreEqual(HttpStatusCode.OK, multipart.StatusCode, await multipart.Content.ReadAsStringAsync());
            var two = Predictions(await multipart.Content.ReadFromJsonAsync<JsonElement>());
            CollectionAssert.AreEqual(expected.Top.Take(2).Select(c => c.Label).ToArray(), two.Select(p => p.Label).ToArray(), $"image {i}, top=2");
        }
        var labels = Predictions(await (await client.PostAsync("/predict?top=1", Raw(Jpeg))).Content.ReadFromJsonAsync<JsonElement>());
        Assert.AreEqual(1, labels.Length);
        CollectionAssert.IsSubsetOf(new[] { labels[0].Label }, ServiceModel.Labels);
    }

    [TestMethod]
    public async Task ABodyThatIsNotADecodableImageIs400SayingWhy()
    {
        await using var service = ServiceModel.Service();
        using var client = service.CreateClient();
        var cases = new (string Name, HttpContent Body, string Why)[]
        {
            ("text", Raw("this is not an image"u8.ToArray(), "image/png"), "not an image"),
            ("truncated", Raw(File.ReadAllBytes(Fixtures.Generated("images/bad/truncated.jpg"))), "truncated"),
            ("huge header", Raw(HandPng.Write(100_000, 100_000, 2, 8, new byte[1000]), "image/png"), "100000×100000"),
            ("empty", Raw([]), "empty"),
            ("no image field", Multipart(Jpeg, field: "photo"), "no field 'image'"),
        };
        foreach (var (name, body, why) in cases)
        {
            var response = await client.PostAsync("/predict", body);
            Assert.AreEqual(HttpStatusCode.BadRequest, response.StatusCode, name);
            StringAssert.Contains(await ErrorOf(response), why, name);
        }
        var badTop = await client.PostAsync("/predict?top=0", Raw(Jpeg));
        Assert.AreEqual(HttpStatusCode.BadRequest, badTop.StatusCode);
        StringAssert.Contains(await ErrorOf(badTop), "top");
        var explainText = await client.PostAsync("/explain", Raw("nope"u8.ToArray()));
        Assert.AreEqual(HttpStatusCode.BadRequest, explainText.StatusCode);
        // The bad requests took nothing down: the next good one is answered.
        Assert.AreEqual(HttpStatusCode.OK, (await client.PostAsync("/predict", Raw(Jpeg))).StatusCode);
    }

    [TestMethod]
    public async Task ABodyAboveTheLimitIs413()
    {
        await using var service = ServiceModel.Service(("max-body-mb", "1"));
        using var client = service.CreateClient();
        var big = new byte[1_000_001];
        Jpeg.CopyTo(big, 0);
        var response = await client.PostAsync("/predict", Raw(big));
        Assert.AreEqual(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        string error = await ErrorOf(response);
        StringAssert.Contains(error, "1,000,000 bytes");
        StringAssert.Contains(error, "--max-body-mb");
        var multipart = await client.PostAsync("/explain", Multipart(big));
        Assert.AreEqual(HttpStatusCode.RequestEntityTooLarge, multipart.StatusCode);
        Assert.AreEqual(HttpStatusCode.OK, (await client.PostAsync("/predict", Raw(Jpeg))).StatusCode, "an image under the limit");
    }

    [TestMethod]
    public async Task AFullQueueIs503WithRetryAfter()
    {
        await using var service = ServiceModel.Service(("queue", "1"), ("max-batch", "1"));
        using var client = service.CreateClient();
        var batcher = service.Services.GetRequiredService<ScoringService>().Batcher;
        var hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        batcher.BeforeBatchForTests = () => hold.Task;
        var waiting = client.PostAsync("/predict", Raw(Jpeg));
        for (int i = 0; i < 500 && batcher.QueueLength == 0; i++) await Task.Delay(20);
        Assert.AreEqual(1, batcher.QueueLength, "the first image waits in the queue while the consumer is held");
        var refused = await client.PostAsync("/predict", Raw(Jpeg));
        Assert.AreEqual(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.AreEqual(TimeSpan.FromSeconds(1), refused.Headers.RetryAfter?.Delta);
        StringAssert.Contains(await ErrorOf(refused), "queue is full");
        hold.SetResult();
        Assert.AreEqual(HttpStatusCode.OK, (await waiting).StatusCode, "the accepted request is answered");
        Assert.AreEqual(1, batcher.ScoredImages);
    }

    [TestMethod]
    public async Task ExplainReturnsTheMapOverTheImageAsAPng()
    {
        await using var service = ServiceModel.Service();
        using var client = service.CreateClient();
        var predicted = Predictions(await (await client.PostAsync("/predict?top=1", Raw(Jpeg))).Content.ReadFromJsonAsync<JsonElement>());
        var response = await client.PostAsync("/explain", Multipart(Jpeg));
        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode, await response.Content.ReadAsStringAsync());
        Assert.AreEqual("image/png", response.Content.Headers.ContentType?.MediaType);
        Assert.AreEqual(predicted[0].Label, Uri.UnescapeDataString(response.Headers.GetValues("X-Label").Single()));
        var png = await response.Content.ReadAsByteArrayAsync();
        using var overlay = SKBitmap.Decode(png);
        using var original = SKBitmap.Decode(Jpeg);
        Assert.IsNotNull(overlay, "a decodable PNG");
        Assert.AreEqual((original.Width, original.Height), (overlay.Width, overlay.Height), "the map is drawn over the image at its size");
        Assert.IsTrue(Enumerable.Range(0, overlay.Width).Any(x => overlay.GetPixel(x, overlay.Height / 2) != original.GetPixel(x, overlay.Height / 2)), "the overlay changed the image");
    }

    [TestMethod]
    public async Task ThePageAndUnknownPaths()
    {
        await using var service = ServiceModel.Service();
        using var client = service.CreateClient();
        var page = await client.GetAsync("/");
        Assert.AreEqual(HttpStatusCode.OK, page.StatusCode);
        Assert.AreEqual("text/html", page.Content.Headers.ContentType?.MediaType);
        string html = await page.Content.ReadAsStringAsync();
        StringAssert.Contains(html, "<input type=\"file\" id=\"file\"");
        var missing = await client.GetAsync("/nothing-here");
        Assert.AreEqual(HttpStatusCode.NotFound, missing.StatusCode);
        StringAssert.Contains(await ErrorOf(missing), "/nothing-here");
        Assert.AreEqual(HttpStatusCode.MethodNotAllowed, (await client.GetAsync("/predict")).StatusCode);
    }
}
