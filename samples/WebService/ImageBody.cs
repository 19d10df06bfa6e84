using System.Globalization;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;

namespace EfficientNetML.WebService;

/// <summary>
/// Reads the image a request carries: the raw body (<c>Content-Type: image/jpeg</c>, <c>image/png</c>, …) or the
/// multipart field <c>image</c>, never more than the body limit. Either the bytes, or the status and message to answer.
/// </summary>
public static class ImageBody
{
    /// <summary>The multipart field that carries the image.</summary>
    public const string FieldName = "image";

    /// <summary>The image's bytes, or an error: 413 above <paramref name="limit"/> bytes, 400 for a body with no image.</summary>
    public static async Task<(byte[]? Image, int Status, string? Error)> ReadAsync(HttpContext context, long limit)
    {
        var request = context.Request;
        // The limit is enforced here, so the answer is JSON at any configured size rather than the server's own 413.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size) size.MaxRequestBodySize = null;
        if (request.ContentLength > limit) return (null, StatusCodes.Status413PayloadTooLarge, TooLarge(request.ContentLength.Value, limit));
        var body = await ReadBoundedAsync(request.Body, limit, context.RequestAborted);
        if (body is null) return (null, StatusCodes.Status413PayloadTooLarge, TooLarge(null, limit));

        if (MediaTypeHeaderValue.TryParse(request.ContentType, out var type) && type.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase))
        {
            string boundary = HeaderUtilities.RemoveQuotes(type.Boundary).Value ?? "";
            if (boundary.Length == 0) return (null, StatusCodes.Status400BadRequest, "The multipart body has no boundary in its Content-Type.");
            var reader = new MultipartReader(boundary, new MemoryStream(body, writable: false));
            var names = new List<string>();
            try
            {
                for (var section = await reader.ReadNextSectionAsync(context.RequestAborted); section is not null; section = await reader.ReadNextSectionAsync(context.RequestAborted))
                {
                    if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition)) continue;
                    string name = HeaderUtilities.RemoveQuotes(disposition.Name).Value ?? "";
                    names.Add(name);
                    if (name != FieldName) continue;
                    using var copy = new MemoryStream();
                    await section.Body.CopyToAsync(copy, context.RequestAborted);
                    return copy.Length > 0 ? (copy.ToArray(), 200, null) : (null, StatusCodes.Status400BadRequest, $"The multipart field '{FieldName}' is empty: choose an image file.");
                }
            }
            catch (IOException e)
            {
                return (null, StatusCodes.Status400BadRequest, $"The multipart body could not be read: {e.Message}");
            }
            return (null, StatusCodes.Status400BadRequest,
                $"The multipart body has no field '{FieldName}' (its fields: {(names.Count == 0 ? "none" : string.Join(", ", names.Select(n => $"'{n}'")))}).");
        }
        if (body.Length == 0)
            return (null, StatusCodes.Status400BadRequest, $"The body is empty: send the image as the body (Content-Type: image/jpeg, image/png, …) or as the multipart field '{FieldName}'.");
        return (body, 200, null);
    }

    private static string TooLarge(long? length, long limit) => string.Create(CultureInfo.InvariantCulture,
        $"The body is {(length is { } l ? $"{l:N0} bytes" : "larger than the limit")}; the limit is {limit:N0} bytes ({limit / 1_000_000} MB, --max-body-mb).");

    /// <summary>The whole body, or null once it passes <paramref name="limit"/> bytes (the rest is not read).</summary>
    private static async Task<byte[]?> ReadBoundedAsync(Stream body, long limit, CancellationToken cancellationToken)
    {
        using var copy = new MemoryStream();
        var buffer = new byte[81920];
        int read;
        while ((read = await body.ReadAsync(buffer, cancellationToken)) > 0)
        {
            if (copy.Length + read > limit) return null;
            copy.Write(buffer, 0, read);
        }
        return copy.ToArray();
    }
}
