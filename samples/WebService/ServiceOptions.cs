using System.Globalization;

namespace EfficientNetML.WebService;

/// <summary>
/// The service's settings, from its command line (<c>--model PATH --port N --max-batch N --max-wait-ms N
/// --max-body-mb N --queue N --threads N</c>; ASP.NET Core's configuration reads <c>--name value</c> as key
/// <c>name</c>), checked once at start-up.
/// </summary>
public sealed record ServiceOptions(string Model, int Port, int MaxBatch, int MaxWaitMilliseconds, long MaxBodyBytes, int QueueCapacity, int? Threads)
{
    /// <summary>The port when <c>--port</c> is not given.</summary>
    public const int DefaultPort = 5080;

    /// <summary>The body limit when <c>--max-body-mb</c> is not given, in MB (10^6 bytes).</summary>
    public const int DefaultMaxBodyMegabytes = 20;

    /// <summary>Labels a <c>/predict</c> answer lists when the request gives no <c>?top=K</c>: the service's contract with its clients.</summary>
    public const int DefaultTop = 5;

    /// <summary>The batcher's own defaults, for the flags not given.</summary>
    private static readonly Microsoft.ML.EfficientNet.Scoring.BatchingPredictorOptions Batching = new();

    /// <summary>Reads and checks the settings.</summary>
    /// <exception cref="ArgumentException">A flag is missing or out of range; the message names it, with what was expected and given.</exception>
    public static ServiceOptions From(IConfiguration configuration)
    {
        string model = configuration["model"] is { Length: > 0 } m ? m
            : throw new ArgumentException("--model PATH is required: a run folder of efficientnet train, a model.onnx, or an ML.NET model.zip the EfficientNet trainer saved.");
        if (!File.Exists(model) && !Directory.Exists(model))
            throw new ArgumentException($"--model: '{model}' does not exist (expected a run folder, a model.onnx or a model.zip).");
        return new ServiceOptions(
            model,
            Int(configuration, "port", DefaultPort, 1, 65535),
            Int(configuration, "max-batch", Batching.MaxBatch, 1, 1024),
            Int(configuration, "max-wait-ms", (int)Batching.MaxWait.TotalMilliseconds, 0, 10_000),
            Int(configuration, "max-body-mb", DefaultMaxBodyMegabytes, 1, 1024) * 1_000_000L,
            Int(configuration, "queue", Batching.QueueCapacity, 1, 1_000_000),
            configuration["threads"] is null ? null : Int(configuration, "threads", 0, 1, 1024));
    }

    private static int Int(IConfiguration configuration, string key, int fallback, int min, int max)
    {
        string? text = configuration[key];
        if (text is null) return fallback;
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) || value < min || value > max)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"--{key}: expected an integer in [{min}, {max}], got '{text}'."));
        return value;
    }
}
