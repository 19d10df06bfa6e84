using System.Diagnostics;
using System.Globalization;
using EfficientNetML.WebService;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.ML.EfficientNet.Scoring;

// An image classification service over one EfficientNet model: GET /health, POST /predict, POST /explain, GET /.
// Requests are scored together in batches (BatchingPredictor); see samples/README.md.
var builder = WebApplication.CreateBuilder(args);
// Loopback unless --urls says otherwise: exposing the service is a deliberate choice.
if (builder.Configuration["urls"] is null)
{
    int port = int.TryParse(builder.Configuration["port"], NumberStyles.Integer, CultureInfo.InvariantCulture, out int p) && p is > 0 and < 65536 ? p : ServiceOptions.DefaultPort;
    builder.WebHost.UseUrls(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}"));
}
// One log line per request would cost more than the request under load: the server's own logging at warnings only.
builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
builder.Services.AddSingleton(services => ServiceOptions.From(services.GetRequiredService<IConfiguration>()));
builder.Services.AddSingleton<ScoringService>();

var app = builder.Build();
try
{
    // Loaded before the server listens: /health answers 200 only with the model in memory.
    app.Services.GetRequiredService<ScoringService>();
}
catch (Exception e) when (e is ArgumentException or InvalidDataException or FileNotFoundException)
{
    Console.Error.WriteLine($"web-service: {e.Message}");
    return 2;
}

app.UseExceptionHandler(error => error.Run(async context =>
{
    var failure = context.Features.Get<IExceptionHandlerFeature>()?.Error;
    context.Response.StatusCode = StatusCodes.Status500InternalServerError;
    await context.Response.WriteAsJsonAsync(new ErrorResponse($"Internal error: {failure?.Message}"));
}));
app.UseStatusCodePages(async status =>
{
    var response = status.HttpContext.Response;
    await response.WriteAsJsonAsync(new ErrorResponse(string.Create(CultureInfo.InvariantCulture,
        $"{response.StatusCode} for {status.HttpContext.Request.Method} {status.HttpContext.Request.Path}: the service answers GET /, GET /health, POST /predict and POST /explain.")));
});

app.MapGet("/", () => Results.Stream(typeof(ScoringService).Assembly.GetManifestResourceStream("index.html")!, "text/html; charset=utf-8"));

app.MapGet("/health", (ScoringService service) => Results.Json(new HealthResponse(
    "ok", service.Predictor.ModelPath, service.Predictor.Labels.Count, service.Predictor.ExecutionProvider,
    service.Options.MaxBatch, service.Options.MaxWaitMilliseconds, service.Batcher.QueueLength, service.Batcher.ScoredImages, service.Batcher.Batches)));

app.MapPost("/predict", async (HttpContext context, ScoringService service) =>
{
    var clock = Stopwatch.StartNew();
    var (top, topError) = Top(context);
    if (topError is not null) return Error(StatusCodes.Status400BadRequest, topError);
    var (image, status, error) = await ImageBody.ReadAsync(context, service.Options.MaxBodyBytes);
    if (image is null) return Error(status, error!);
    return await Scored(context, () => service.Batcher.PredictAsync(image, top, "the image", context.RequestAborted),
        p => Results.Json(new PredictResponse(p.Top.Select(c => new LabelScore(c.Label, c.Score)).ToArray(), Math.Round(clock.Elapsed.TotalMilliseconds, 1))));
});

app.MapPost("/explain", async (HttpContext context, ScoringService service) =>
{
    var (image, status, error) = await ImageBody.ReadAsync(context, service.Options.MaxBodyBytes);
    if (image is null) return Error(status, error!);
    return await Scored(context, () => service.Batcher.ExplainAsync(image, top: 1, "the image", context.RequestAborted), p =>
    {
        var map = p.ActivationMap!;
        context.Response.Headers["X-Label"] = Uri.EscapeDataString(map.Label);
        context.Response.Headers["X-Score"] = map.Score.ToString("R", CultureInfo.InvariantCulture);
        return Results.File(map.RenderPng(image), "image/png");
    });
});

app.Run();
return 0;

// What every scoring endpoint answers besides its result: 400 for an image that cannot be decoded, 503 while the queue
// is full or the service stops, nothing for a client that left.
static async Task<IResult> Scored(HttpContext context, Func<Task<ImagePrediction>> score, Func<ImagePrediction, IResult> answer)
{
    try
    {
        return answer(await score());
    }
    catch (InvalidDataException e)
    {
        return Error(StatusCodes.Status400BadRequest, e.Message);
    }
    catch (PredictionQueueFullException e)
    {
        context.Response.Headers.RetryAfter = "1";
        return Error(StatusCodes.Status503ServiceUnavailable, e.Message);
    }
    catch (ObjectDisposedException)
    {
        context.Response.Headers.RetryAfter = "1";
        return Error(StatusCodes.Status503ServiceUnavailable, "The service is stopping.");
    }
    catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
    {
        return Results.Empty;
    }
}

static IResult Error(int status, string message) => Results.Json(new ErrorResponse(message), statusCode: status);

static (int Value, string? Error) Top(HttpContext context)
{
    string? text = context.Request.Query["top"];
    if (text is null) return (ServiceOptions.DefaultTop, null);
    return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int top) && top >= 1 ? (top, null) : (0, $"top: expected an integer of at least 1, got '{text}'.");
}

/// <summary>The answer of <c>POST /predict</c>.</summary>
/// <param name="Predictions">The best classes, highest score first.</param>
/// <param name="Ms">Milliseconds the service spent on the request, reading the body to the answer.</param>
internal sealed record PredictResponse(IReadOnlyList<LabelScore> Predictions, double Ms);

/// <summary>One class and its softmax probability.</summary>
internal sealed record LabelScore(string Label, float Score);

/// <summary>Every error's body.</summary>
internal sealed record ErrorResponse(string Error);

/// <summary>The answer of <c>GET /health</c>.</summary>
internal sealed record HealthResponse(string Status, string Model, int Classes, string Provider, int MaxBatch, int MaxWaitMs, int Queued, long ScoredImages, long Batches);

/// <summary>The entry point's type, for <c>WebApplicationFactory&lt;Program&gt;</c> in the tests.</summary>
public partial class Program;
