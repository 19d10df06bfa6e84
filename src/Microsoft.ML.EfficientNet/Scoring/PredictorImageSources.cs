using System.Globalization;
using Microsoft.ML.Data;
using Microsoft.ML.EfficientNet.Preprocessing;

namespace Microsoft.ML.EfficientNet.Scoring;

/// <summary>
/// One image the predictor is asked about, not yet decoded: where it comes from, how to get its pixels, and whether
/// the predictor owns (and so disposes) the decoded image.
/// </summary>
/// <param name="Source">Its path, an in-memory image's <c>Tag</c>, or <c>row N</c> of a data view.</param>
/// <param name="Load">Decodes or hands over the image; throws when it cannot, the message saying why.</param>
/// <param name="Owned">True when the predictor decoded it and disposes it after scoring.</param>
internal sealed record PredictorImage(string Source, Func<MLImage> Load, bool Owned);

/// <summary>
/// The inputs <see cref="EfficientNetPredictor"/> accepts, as <see cref="PredictorImage"/>s: files, encoded bytes, a
/// decoded image, and the rows of a data view's image or path column. Decoding is deferred to
/// <see cref="PredictorImage.Load"/>, so an image that cannot be read becomes its own row's error.
/// </summary>
internal sealed class PredictorImageSources(ImageDecoder decoder)
{
    /// <summary>An image file, decoded with the predictor's decoder (orientation, pixel limit, warnings).</summary>
    public PredictorImage File(string path) => new(path, () => decoder.DecodeMLImage(path), Owned: true);

    /// <summary>An encoded image in memory, decoded with the predictor's decoder as a file would be.</summary>
    /// <param name="encodedImage">The file's bytes.</param>
    /// <param name="source">What the bytes are, for messages. Default <c>bytes</c>.</param>
    public PredictorImage Bytes(byte[] encodedImage, string source = "bytes") => new(source, () => decoder.DecodeMLImage(encodedImage, source), Owned: true);

    /// <summary>A decoded image, which stays the caller's.</summary>
    public static PredictorImage Image(MLImage image) => new(image.Tag ?? "image", () => image, Owned: false);

    /// <summary>The rows of <paramref name="column"/> (an image or a path column), lazily and in row order.</summary>
    public IEnumerable<PredictorImage> Rows(IDataView data, DataViewSchema.Column column)
    {
        using var cursor = data.GetRowCursor([column]);
        bool isPath = column.Type is TextDataViewType;
        var getImage = isPath ? null : cursor.GetGetter<MLImage>(column);
        var getPath = isPath ? cursor.GetGetter<ReadOnlyMemory<char>>(column) : null;
        while (cursor.MoveNext())
        {
            string row = string.Create(CultureInfo.InvariantCulture, $"row {cursor.Position}");
            if (isPath)
            {
                ReadOnlyMemory<char> text = default;
                getPath!(ref text);
                string path = text.ToString();
                yield return path.Length == 0 ? new PredictorImage(row, () => throw new InvalidDataException("the path is empty"), Owned: true) : File(path);
            }
            else
            {
                MLImage image = null!;
                string? error = null;
                try
                {
                    getImage!(ref image);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    error = PredictionResults.Innermost(e).Message;
                }
                var captured = image;
                yield return new PredictorImage(captured?.Tag ?? row, () => captured ?? throw new InvalidDataException(error ?? "the image is missing"), Owned: false);
            }
        }
    }
}
