using System.Text.Encodings.Web;
using System.Text.Json;

namespace Microsoft.ML.EfficientNet.IO;

/// <summary>
/// How every JSON file and JSON output people read is written: standard JSON escaping only (quotes, backslashes and
/// control characters), so a label like <c>men's</c> or <c>café</c> stays as it is instead of <c>\u0027</c> and
/// <c>\u00E9</c>, which .NET's default encoder writes for HTML safety. The output is never embedded in HTML.
/// </summary>
internal static class JsonFormat
{
    private static readonly JavaScriptEncoder Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping;

    /// <summary>Serializer options: one line.</summary>
    public static JsonSerializerOptions Compact { get; } = new() { Encoder = Encoder };

    /// <summary>Serializer options: indented.</summary>
    public static JsonSerializerOptions Indented { get; } = new() { Encoder = Encoder, WriteIndented = true };

    /// <summary>Writer options for <see cref="Utf8JsonWriter"/>: indented.</summary>
    public static JsonWriterOptions Writer { get; } = new() { Encoder = Encoder, Indented = true };
}
