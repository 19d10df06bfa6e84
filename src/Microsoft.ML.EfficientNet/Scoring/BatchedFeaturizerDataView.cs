using Microsoft.Extensions.Logging;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;

namespace Microsoft.ML.EfficientNet.Scoring;

/// <summary>
/// The featurizer's output on the batched path: the input's columns plus the features column. A leading cursor pulls
/// pixels (decode, resize, extract: the standard chain's first two transforms) and ONNX Runtime scores them
/// <see cref="EfficientNetFeaturizerOptions.BatchSize"/> at a time, preparing the next batch on another thread while the
/// current one is scored. A trailing cursor over the input serves every other column, so pass-through columns are never
/// copied; the two cursors visit the same rows in the same order, which is checked by row id.
/// </summary>
internal sealed class BatchedFeaturizerDataView : IDataView
{
    private readonly IDataView _input;
    private readonly TransformerChain<ColumnSelectingTransformer> _chain;
    private readonly OnnxBatchScorer _scorer;
    private readonly string _pixelsColumn;
    private readonly string _imageColumn;
    private readonly EfficientNetFeaturizerOptions _options;
    private readonly int _featuresIndex;

    public BatchedFeaturizerDataView(IDataView input, TransformerChain<ColumnSelectingTransformer> chain, OnnxBatchScorer scorer, string imageColumn,
        string outputColumn, string pixelsColumn, EfficientNetFeaturizerOptions options)
    {
        _imageColumn = imageColumn;
        _input = input;
        _chain = chain;
        _scorer = scorer;
        _pixelsColumn = pixelsColumn;
        _options = options;
        Schema = OutputSchema(input.Schema, chain.GetOutputSchema(input.Schema), outputColumn);
        _featuresIndex = Schema.Count - 1;
    }

    public DataViewSchema Schema { get; }

    public bool CanShuffle => false;

    public long? GetRowCount() => _input.GetRowCount();

    /// <summary>The input's columns (same indices) followed by the features column as the standard chain types it.</summary>
    public static DataViewSchema OutputSchema(DataViewSchema input, DataViewSchema chainOutput, string outputColumn)
    {
        var builder = new DataViewSchema.Builder();
        builder.AddColumns(input);
        var features = chainOutput[outputColumn];
        builder.AddColumn(outputColumn, features.Type, features.Annotations);
        return builder.ToSchema();
    }

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        var needed = columnsNeeded.ToList();
        bool wantFeatures = needed.Any(c => c.Index == _featuresIndex);
        var rows = _input.GetRowCursor(needed.Where(c => c.Index != _featuresIndex).Select(c => _input.Schema[c.Index]));
        if (!wantFeatures) return new Cursor(this, rows, null);
        IDataView pixels = _input;
        foreach (var transformer in _chain.Take(2)) pixels = transformer.Transform(pixels); // ResizeImages, ExtractPixels
        // Asking for the image column too keeps ML.NET from splitting this cursor over worker threads (it does so only
        // when every requested column is cachable): a worker's decode error would end the whole cursor, while on this
        // thread it reaches the getter and costs one row. Decoding still overlaps scoring: see Cursor.NextBatch.
        var pixelCursor = pixels.GetRowCursor([pixels.Schema[_pixelsColumn], pixels.Schema[_imageColumn]]);
        return new Cursor(this, rows, pixelCursor);
    }

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    private sealed class Batch(int capacity, int inputLength, int outputWidth)
    {
        public readonly float[] Input = new float[capacity * inputLength];
        public readonly float[] Output = new float[capacity * outputWidth];
        public readonly DataViewRowId[] Ids = new DataViewRowId[capacity];
        public readonly bool[] Failed = new bool[capacity];
        public int Count;
        public bool Exhausted;
    }

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly BatchedFeaturizerDataView _parent;
        private readonly DataViewRowCursor _rows;
        private readonly DataViewRowCursor? _pixels;
        private readonly ValueGetter<VBuffer<float>>? _pixelGetter;
        private readonly ValueGetter<DataViewRowId>? _pixelIds;
        private readonly ValueGetter<DataViewRowId> _rowIds;
        private readonly Batch[] _buffers = new Batch[2];
        private readonly int _width;
        private Batch? _current;
        private Task<Batch>? _pending;
        private int _next;
        private int _index = -1;
        private VBuffer<float> _pixelBuffer;
        private bool _disposed;

        public Cursor(BatchedFeaturizerDataView parent, DataViewRowCursor rows, DataViewRowCursor? pixels)
        {
            _parent = parent;
            _rows = rows;
            _rowIds = rows.GetIdGetter();
            _pixels = pixels;
            _width = parent._scorer.OutputWidth;
            if (pixels is not null)
            {
                _pixelGetter = pixels.GetGetter<VBuffer<float>>(pixels.Schema[parent._pixelsColumn]);
                _pixelIds = pixels.GetIdGetter();
                int capacity = Math.Max(1, parent._options.BatchSize);
                _buffers[0] = new Batch(capacity, parent._scorer.InputLength, _width);
                _buffers[1] = new Batch(capacity, parent._scorer.InputLength, _width);
            }
        }

        public override DataViewSchema Schema => _parent.Schema;

        public override long Position => _rows.Position;

        public override long Batch => _rows.Batch;

        public override ValueGetter<DataViewRowId> GetIdGetter() => _rows.GetIdGetter();

        public override bool IsColumnActive(DataViewSchema.Column column) =>
            column.Index == _parent._featuresIndex ? _pixels is not null : _rows.IsColumnActive(_parent._input.Schema[column.Index]);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (column.Index != _parent._featuresIndex) return _rows.GetGetter<TValue>(_parent._input.Schema[column.Index]);
            if (_pixels is null) throw new InvalidOperationException($"Column '{column.Name}' was not requested when the cursor was created.");
            ValueGetter<VBuffer<float>> getter = Features;
            return getter as ValueGetter<TValue>
                ?? throw new InvalidOperationException($"Column '{column.Name}' holds VBuffer<Single>, not {typeof(TValue).Name}.");
        }

        public override bool MoveNext()
        {
            if (!_rows.MoveNext()) return false;
            if (_pixels is null) return true;
            if (_current is null || ++_index >= _current.Count)
            {
                NextBatch();
                _index = 0;
            }
            DataViewRowId id = default;
            _rowIds(ref id);
            if (_current!.Count == 0 || !id.Equals(_current.Ids[_index]))
                throw new InvalidOperationException("The featurizer's pixel and row cursors fell out of step: the input view does not return its rows in a stable order.");
            return true;
        }

        private void Features(ref VBuffer<float> value)
        {
            if (_current is null || _index < 0) throw new InvalidOperationException("No current row: call MoveNext first.");
            var editor = VBufferEditor.Create(ref value, _width);
            _current.Output.AsSpan(_index * _width, _width).CopyTo(editor.Values);
            value = editor.Commit();
        }

        private void NextBatch()
        {
            var batch = _pending is not null ? _pending.GetAwaiter().GetResult() : Prepare(_buffers[_next]);
            _pending = null;
            _next ^= 1;
            _parent._scorer.Score(batch.Input, batch.Count, batch.Output);
            for (int i = 0; i < batch.Count; i++)
            {
                if (batch.Failed[i]) batch.Output.AsSpan(i * _width, _width).Fill(float.NaN);
            }
            _current = batch;
            // Decode the next batch while the consumer works through this one (and while it is scored next time).
            if (!batch.Exhausted)
            {
                var buffer = _buffers[_next];
                _pending = Task.Run(() => Prepare(buffer));
            }
        }

        private Batch Prepare(Batch batch)
        {
            batch.Count = 0;
            batch.Exhausted = false;
            int length = _parent._scorer.InputLength;
            while (batch.Count < batch.Ids.Length)
            {
                if (!_pixels!.MoveNext())
                {
                    batch.Exhausted = true;
                    break;
                }
                int k = batch.Count++;
                _pixelIds!(ref batch.Ids[k]);
                batch.Failed[k] = false;
                var target = batch.Input.AsSpan(k * length, length);
                try
                {
                    _pixelGetter!(ref _pixelBuffer);
                    if (_pixelBuffer.Length != length)
                        throw new InvalidDataException(_pixelBuffer.Length == 0 ? "the image is missing" : $"expected {length} pixel values, got {_pixelBuffer.Length}");
                    _pixelBuffer.CopyTo(target);
                }
                catch (Exception e) when (_parent._options.UnreadableImages == UnreadableImageHandling.Throw && e is not OutOfMemoryException)
                {
                    throw new InvalidDataException($"Row {_pixels.Position}: the image in column '{_parent._imageColumn}' could not be read ({Innermost(e).Message}).", e);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    batch.Failed[k] = true;
                    target.Clear();
                    _parent._options.Logger?.LogWarning("Row {Row}: the image in column '{Column}' could not be read ({Reason}); its features are NaN.",
                        _pixels.Position, _parent._imageColumn, Innermost(e).Message);
                }
            }
            return batch;
        }

        private static Exception Innermost(Exception e)
        {
            while (e.InnerException is not null) e = e.InnerException;
            return e;
        }

        protected override void Dispose(bool disposing)
        {
            if (_disposed) return;
            _disposed = true;
            if (disposing)
            {
                try { _pending?.Wait(); } catch (AggregateException) { } // its error belongs to rows nobody will read
                _pixels?.Dispose();
                _rows.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
