using Microsoft.ML.Data;
using Microsoft.ML.EfficientNet.Preprocessing;
using Microsoft.ML.Transforms.Image;

namespace Microsoft.ML.EfficientNet.Scoring;

/// <summary>
/// What ML.NET's <c>LoadImages</c> produces (the input's columns plus an image column read from a path column, relative
/// paths resolved against its image folder), with JPEGs decoded at a reduced DCT scale by
/// <see cref="ReducedScaleJpegDecoder"/>. The batched featurizer puts it in place of the chain's <c>LoadImages</c> when
/// <see cref="EfficientNetFeaturizerOptions.ReducedScaleJpegDecoding"/> is on; the rest of the chain is unchanged.
/// </summary>
internal sealed class ReducedScaleImageLoadingView : IDataView
{
    private readonly IDataView _input;
    private readonly int _pathIndex;
    private readonly string? _imageFolder;
    private readonly int _minShorterSide;

    /// <param name="input">Data with the path column.</param>
    /// <param name="pathColumn">A text column of image paths.</param>
    /// <param name="imageColumn">The image column to add.</param>
    /// <param name="imageFolder">Folder relative paths are resolved against (LoadImages's, already made absolute), or null.</param>
    /// <param name="minShorterSide">The resize size: decoded images keep a shorter side at least this long.</param>
    public ReducedScaleImageLoadingView(IDataView input, string pathColumn, string imageColumn, string? imageFolder, int minShorterSide)
    {
        _input = input;
        _pathIndex = input.Schema[pathColumn].Index;
        _imageFolder = imageFolder;
        _minShorterSide = minShorterSide;
        var builder = new DataViewSchema.Builder();
        builder.AddColumns(input.Schema);
        builder.AddColumn(imageColumn, new ImageDataViewType());
        Schema = builder.ToSchema();
    }

    public DataViewSchema Schema { get; }

    public bool CanShuffle => false;

    public long? GetRowCount() => _input.GetRowCount();

    private int ImageIndex => Schema.Count - 1;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        var needed = columnsNeeded.ToList();
        bool wantImage = needed.Any(c => c.Index == ImageIndex);
        var inputColumns = needed.Where(c => c.Index != ImageIndex).Select(c => _input.Schema[c.Index]);
        if (wantImage) inputColumns = inputColumns.Append(_input.Schema[_pathIndex]);
        return new Cursor(this, _input.GetRowCursor(inputColumns.Distinct()), wantImage);
    }

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly ReducedScaleImageLoadingView _parent;
        private readonly DataViewRowCursor _input;
        private readonly ValueGetter<ReadOnlyMemory<char>>? _paths;
        private MLImage? _last;
        private ReadOnlyMemory<char> _path;

        public Cursor(ReducedScaleImageLoadingView parent, DataViewRowCursor input, bool wantImage)
        {
            _parent = parent;
            _input = input;
            if (wantImage) _paths = input.GetGetter<ReadOnlyMemory<char>>(input.Schema[parent._pathIndex]);
        }

        public override DataViewSchema Schema => _parent.Schema;

        public override long Position => _input.Position;

        public override long Batch => _input.Batch;

        public override ValueGetter<DataViewRowId> GetIdGetter() => _input.GetIdGetter();

        public override bool IsColumnActive(DataViewSchema.Column column) =>
            column.Index == _parent.ImageIndex ? _paths is not null : _input.IsColumnActive(_parent._input.Schema[column.Index]);

        public override bool MoveNext() => _input.MoveNext();

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (column.Index != _parent.ImageIndex) return _input.GetGetter<TValue>(_parent._input.Schema[column.Index]);
            if (_paths is null) throw new InvalidOperationException($"Column '{column.Name}' was not requested when the cursor was created.");
            ValueGetter<MLImage> getter = Image;
            return getter as ValueGetter<TValue>
                ?? throw new InvalidOperationException($"Column '{column.Name}' holds MLImage, not {typeof(TValue).Name}.");
        }

        // As LoadImages: the previous image is disposed when the next is read, an empty path gives no image.
        private void Image(ref MLImage value)
        {
            value?.Dispose();
            value = null!;
            _last = null;
            _paths!(ref _path);
            if (_path.IsEmpty) return;
            string path = _path.ToString();
            if (!string.IsNullOrWhiteSpace(_parent._imageFolder)) path = Path.Combine(_parent._imageFolder, path);
            value = _last = ReducedScaleJpegDecoder.Decode(path, _parent._minShorterSide);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _last?.Dispose();
                _input.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
