using Microsoft.ML.Data;
using Microsoft.ML.EfficientNet.Preprocessing;
using Microsoft.ML.Transforms.Image;

namespace Microsoft.ML.EfficientNet.Scoring;

/// <summary>
/// What ML.NET's <c>LoadImages</c> produces (the input's columns plus an image column read from a path column, relative
/// paths resolved against its image folder), with the next images decoded ahead on the thread pool. The batched
/// featurizer puts it in place of the chain's <c>LoadImages</c> for a path column: decoding a camera photo costs many
/// inferences, and <c>LoadImages</c> decodes on the one thread that pulls rows. Files are decoded by
/// <see cref="ImageDecoder"/>: as <c>LoadImages</c> does for a good file, but a truncated file or a header claiming too
/// many pixels is this row's error, and EXIF orientation is applied when asked. With a minimum shorter side, JPEGs are
/// decoded at a reduced DCT scale. Each cursor gets its own decoder, so an orientation warning is logged once per pass.
/// </summary>
internal sealed class PrefetchingImageLoadingView : IDataView
{
    private readonly IDataView _input;
    private readonly int _pathIndex;
    private readonly string? _imageFolder;
    private readonly int? _minShorterSide;
    private readonly int _lookahead;
    private readonly Func<ImageDecoder> _decoder;

    /// <param name="input">Data with the path column.</param>
    /// <param name="pathColumn">A text column of image paths.</param>
    /// <param name="imageColumn">The image column to add.</param>
    /// <param name="imageFolder">Folder relative paths are resolved against (LoadImages's, already made absolute), or null.</param>
    /// <param name="minShorterSide">The resize size, to decode JPEGs at a reduced scale that keeps a shorter side at least
    /// this long; null decodes at full size.</param>
    /// <param name="lookahead">Images decoded ahead of the current row (each holds its decoded pixels until read).</param>
    /// <param name="decoder">Makes the decoder of one cursor (orientation, pixel limit, logger); default
    /// <see cref="ImageDecoder.Default"/>.</param>
    public PrefetchingImageLoadingView(IDataView input, string pathColumn, string imageColumn, string? imageFolder, int? minShorterSide, int lookahead,
        Func<ImageDecoder>? decoder = null)
    {
        _decoder = decoder ?? (() => ImageDecoder.Default);
        _input = input;
        _pathIndex = input.Schema[pathColumn].Index;
        _imageFolder = imageFolder;
        _minShorterSide = minShorterSide;
        _lookahead = Math.Max(1, lookahead);
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
        var rows = _input.GetRowCursor(needed.Where(c => c.Index != ImageIndex).Select(c => _input.Schema[c.Index]));
        // A second cursor over the paths runs ahead of the rows; both visit the input in the same order (checked by row id).
        var ahead = needed.Any(c => c.Index == ImageIndex) ? _input.GetRowCursor([_input.Schema[_pathIndex]]) : null;
        return new Cursor(this, rows, ahead, _decoder());
    }

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    /// <summary>The image at <paramref name="path"/> as <c>LoadImages</c> would give it (null for an empty path).</summary>
    private MLImage? Load(ImageDecoder decoder, string path)
    {
        if (path.Length == 0) return null;
        if (!string.IsNullOrWhiteSpace(_imageFolder)) path = Path.Combine(_imageFolder, path);
        return decoder.DecodeMLImage(path, _minShorterSide);
    }

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly PrefetchingImageLoadingView _parent;
        private readonly DataViewRowCursor _rows;
        private readonly DataViewRowCursor? _ahead;
        private readonly ValueGetter<DataViewRowId> _rowIds;
        private readonly ValueGetter<DataViewRowId>? _aheadIds;
        private readonly ValueGetter<ReadOnlyMemory<char>>? _aheadPaths;
        private readonly Queue<(DataViewRowId Id, string Path, Task<MLImage?> Image)> _pending = new();
        private (DataViewRowId Id, string Path, Task<MLImage?> Image)? _current;
        private bool _currentServed;
        private bool _aheadDone;
        private MLImage? _lastServed;
        private readonly ImageDecoder _decoder;

        public Cursor(PrefetchingImageLoadingView parent, DataViewRowCursor rows, DataViewRowCursor? ahead, ImageDecoder decoder)
        {
            _parent = parent;
            _decoder = decoder;
            _rows = rows;
            _rowIds = rows.GetIdGetter();
            _ahead = ahead;
            if (ahead is not null)
            {
                _aheadIds = ahead.GetIdGetter();
                _aheadPaths = ahead.GetGetter<ReadOnlyMemory<char>>(ahead.Schema[parent._pathIndex]);
            }
        }

        public override DataViewSchema Schema => _parent.Schema;

        public override long Position => _rows.Position;

        public override long Batch => _rows.Batch;

        public override ValueGetter<DataViewRowId> GetIdGetter() => _rowIds;

        public override bool IsColumnActive(DataViewSchema.Column column) =>
            column.Index == _parent.ImageIndex ? _ahead is not null : _rows.IsColumnActive(_parent._input.Schema[column.Index]);

        public override bool MoveNext()
        {
            DisposeCurrent();
            if (!_rows.MoveNext()) return false;
            if (_ahead is null) return true;
            Prefetch();
            if (!_pending.TryDequeue(out var next))
                throw new InvalidOperationException("The image loader's look-ahead cursor ended before its row cursor: the input view does not return its rows in a stable order.");
            DataViewRowId id = default;
            _rowIds(ref id);
            if (!id.Equals(next.Id))
                throw new InvalidOperationException("The image loader's look-ahead and row cursors fell out of step: the input view does not return its rows in a stable order.");
            _current = next;
            _currentServed = false;
            Prefetch();
            return true;
        }

        private void Prefetch()
        {
            while (_pending.Count < _parent._lookahead && !_aheadDone)
            {
                if (!_ahead!.MoveNext())
                {
                    _aheadDone = true;
                    return;
                }
                DataViewRowId id = default;
                ReadOnlyMemory<char> path = default;
                _aheadIds!(ref id);
                _aheadPaths!(ref path);
                string file = path.ToString();
                _pending.Enqueue((id, file, Task.Run(() => _parent.Load(_decoder, file))));
            }
        }

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (column.Index != _parent.ImageIndex) return _rows.GetGetter<TValue>(_parent._input.Schema[column.Index]);
            if (_ahead is null) throw new InvalidOperationException($"Column '{column.Name}' was not requested when the cursor was created.");
            ValueGetter<MLImage> getter = Image;
            return getter as ValueGetter<TValue>
                ?? throw new InvalidOperationException($"Column '{column.Name}' holds MLImage, not {typeof(TValue).Name}.");
        }

        // As LoadImages: the caller's previous image is disposed, an empty path gives no image, a failure is thrown here,
        // for this row only. The prefetched image is handed out once (its reader owns it); reading the row again decodes again.
        private void Image(ref MLImage value)
        {
            if (_current is not { } current) throw new InvalidOperationException("No current row: call MoveNext first.");
            value?.Dispose();
            value = null!;
            bool again = _currentServed;
            _currentServed = true;
            _lastServed = again ? _parent.Load(_decoder, current.Path) : current.Image.GetAwaiter().GetResult();
            value = _lastServed!;
        }

        private void DisposeCurrent()
        {
            if (_current is { } current && !_currentServed) DisposeWhenDone(current.Image);
            _current = null;
        }

        private static void DisposeWhenDone(Task<MLImage?> image) =>
            image.ContinueWith(t => t.Result?.Dispose(), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                DisposeCurrent();
                _lastServed?.Dispose(); // as LoadImages's disposer: the reader's last image goes with the cursor
                while (_pending.TryDequeue(out var pending)) DisposeWhenDone(pending.Image);
                _ahead?.Dispose();
                _rows.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
