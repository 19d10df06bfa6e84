using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

namespace Microsoft.ML.EfficientNet.Scoring;

/// <summary>Decoded images as an ML.NET data view with one <c>Image</c> column, for the recipe's resize and pixel extraction; it does not dispose them.</summary>
internal sealed class MLImageListDataView(IReadOnlyList<MLImage> images) : IDataView
{
    public DataViewSchema Schema { get; } = BuildSchema();

    public bool CanShuffle => false;

    public long? GetRowCount() => images.Count;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) => new Cursor(this, images);

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) => [GetRowCursor(columnsNeeded, rand)];

    private static DataViewSchema BuildSchema()
    {
        var builder = new DataViewSchema.Builder();
        builder.AddColumn("Image", new ImageDataViewType());
        return builder.ToSchema();
    }

    private sealed class Cursor(MLImageListDataView parent, IReadOnlyList<MLImage> images) : DataViewRowCursor
    {
        private int _position = -1;

        public override DataViewSchema Schema => parent.Schema;

        public override long Position => _position;

        public override long Batch => 0;

        public override bool IsColumnActive(DataViewSchema.Column column) => true;

        public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId id) => id = new DataViewRowId((ulong)_position, 0);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) =>
            (ValueGetter<MLImage>)((ref MLImage value) => value = images[_position]) as ValueGetter<TValue>
            ?? throw new InvalidOperationException($"Column '{column.Name}' holds MLImage, not {typeof(TValue).Name}.");

        public override bool MoveNext() => ++_position < images.Count;
    }
}
