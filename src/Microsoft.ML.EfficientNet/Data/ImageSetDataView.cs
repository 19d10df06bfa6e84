using Microsoft.Extensions.Logging;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.EfficientNet.Preprocessing;
using Microsoft.ML.Transforms.Image;

namespace Microsoft.ML.EfficientNet.Data;

/// <summary>
/// A labelled image set as an ML.NET data view with an <c>Image</c> column (<see cref="MLImage"/> of any size, loaded
/// row by row as <c>LoadImages</c> would) and an <c>Index</c> column, so ML.NET's image transforms can run over it.
/// Images that fail to load are skipped, with a warning unless the decoder has already reported them.
/// </summary>
internal sealed class ImageSetDataView(LabeledImageSet images, ILogger? logger, ImageDecoder? decoder = null) : IDataView
{
    public const string ImageColumn = "Image";
    public const string IndexColumn = "Index";

    public DataViewSchema Schema { get; } = BuildSchema();

    public bool CanShuffle => false;

    public long? GetRowCount() => null; // unreadable images are skipped, so the count is not known in advance

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
        new Cursor(this, columnsNeeded.Select(c => c.Index).ToHashSet());

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    private static DataViewSchema BuildSchema()
    {
        var builder = new DataViewSchema.Builder();
        builder.AddColumn(ImageColumn, new ImageDataViewType());
        builder.AddColumn(IndexColumn, NumberDataViewType.Int32);
        return builder.ToSchema();
    }

    private sealed class Cursor(ImageSetDataView parent, HashSet<int> active) : DataViewRowCursor
    {
        private int _index = -1;
        private long _position = -1;
        private MLImage? _image;

        public override DataViewSchema Schema => parent.Schema;

        public override long Position => _position;

        public override long Batch => 0;

        public override bool IsColumnActive(DataViewSchema.Column column) => active.Contains(column.Index);

        public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId id) => id = new DataViewRowId((ulong)_index, 0);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            Delegate getter = column.Name switch
            {
                ImageColumn => (ValueGetter<MLImage>)((ref MLImage value) => value = _image!),
                IndexColumn => (ValueGetter<int>)((ref int value) => value = _index),
                _ => throw new ArgumentOutOfRangeException(nameof(column), column.Name, "Unknown column."),
            };
            return getter as ValueGetter<TValue> ?? throw new InvalidOperationException($"Column '{column.Name}' does not hold {typeof(TValue).Name}.");
        }

        public override bool MoveNext()
        {
            _image?.Dispose();
            _image = null;
            while (++_index < parent._images.Count)
            {
                if (!active.Contains(0)) break;
                try
                {
                    _image = parent._images.LoadMLImage(_index, parent._decoder);
                    break;
                }
                catch (Exception e) when (e is ArgumentException or InvalidOperationException or IOException or InvalidDataException or UnauthorizedAccessException)
                {
                    string source = parent._images.Describe(_index);
                    if (parent._decoder.FirstFailure(source)) parent._logger?.LogWarning("Skipped {Image}: {Reason}", source, e.Message);
                }
            }
            if (_index >= parent._images.Count) return false;
            _position++;
            return true;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) _image?.Dispose();
            base.Dispose(disposing);
        }
    }

    private readonly LabeledImageSet _images = images;
    private readonly ILogger? _logger = logger;
    private readonly ImageDecoder _decoder = decoder ?? new ImageDecoder(logger: logger);
}
