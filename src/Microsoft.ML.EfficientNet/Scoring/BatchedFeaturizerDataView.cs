using Microsoft.Extensions.Logging;
using Microsoft.ML.Data;
using Microsoft.ML.EfficientNet.Preprocessing;
using Microsoft.ML.Transforms;
using Microsoft.ML.EfficientNet.Runtime;

namespace Microsoft.ML.EfficientNet.Scoring;

/// <summary>
/// The featurizer's output on the batched path: the input's columns plus the features column. A leading cursor pulls
/// resized images (decode and resize: the standard chain's steps before <c>ExtractPixels</c>), writes their pixels
/// straight into the batch (<see cref="PlanarPixels"/>: the values <c>ExtractPixels</c> gives) and ONNX Runtime scores them
/// <see cref="EfficientNetFeaturizerOptions.BatchSize"/> at a time, preparing the next batch on another thread while the
/// current one is scored. A trailing cursor over the input serves every other column, so pass-through columns are never
/// copied; the two cursors visit the same rows in the same order, which is checked by row id.
/// </summary>
internal sealed class BatchedFeaturizerDataView : IDataView
{
    private readonly IDataView _input;
    private readonly Func<IDataView, IDataView> _pixels;
    private readonly EfficientNetOnnxSession _scorer;
    private readonly string _resizedColumn;
    private readonly string _inputColumn;
    private readonly string _imageColumn;
    private readonly EfficientNetFeaturizerOptions _options;
    private readonly int _featuresIndex;

    /// <param name="input">Data with the input column.</param>
    /// <param name="schema">The input's columns and the features column (<see cref="OutputSchema"/>).</param>
    /// <param name="resized">Adds the resized image column (and the decoded image column) to a view of the input.</param>
    /// <param name="scorer">Scores batches of pixels.</param>
    /// <param name="inputColumn">The featurizer's input column (images or paths), named in errors.</param>
    /// <param name="imageColumn">The decoded image column of <paramref name="resized"/>'s output.</param>
    /// <param name="outputColumn">The features column, last in <paramref name="schema"/>.</param>
    /// <param name="resizedColumn">The resized image column of <paramref name="resized"/>'s output.</param>
    /// <param name="options">Batch size, error handling, logging.</param>
    public BatchedFeaturizerDataView(IDataView input, DataViewSchema schema, Func<IDataView, IDataView> resized, EfficientNetOnnxSession scorer, string inputColumn, string imageColumn,
        string outputColumn, string resizedColumn, EfficientNetFeaturizerOptions options)
    {
        _inputColumn = inputColumn;
        _imageColumn = imageColumn;
        _input = input;
        _pixels = resized;
        _scorer = scorer;
        _resizedColumn = resizedColumn;
        _options = options;
        Schema = schema;
        _featuresIndex = schema[outputColumn].Index;
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
        var pixels = _pixels(_input);
        // Asking for the image column too keeps ML.NET from splitting this cursor over worker threads (it does so only
        // when every requested column is cachable): a worker's decode error would end the whole cursor, while on this
        // thread it reaches the getter and costs one row. Decoding still overlaps scoring: see Cursor.NextBatch.
        var pixelCursor = pixels.GetRowCursor([pixels.Schema[_resizedColumn], pixels.Schema[_imageColumn]]);
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
    }

    /// <summary>
    /// Rows in input order with features from a pipeline of batches: preparing (pulling pixels, which decodes the images)
    /// is one sequential chain of tasks, because the pixel cursor is not thread-safe; scoring of prepared batches runs
    /// concurrently, up to the scorer's parallelism; the consumer takes scored batches in order.
    /// </summary>
    private sealed class Cursor : DataViewRowCursor
    {
        private readonly BatchedFeaturizerDataView _parent;
        private readonly DataViewRowCursor _rows;
        private readonly DataViewRowCursor? _pixels;
        private readonly ValueGetter<MLImage>? _resizedGetter;
        private readonly ValueGetter<DataViewRowId>? _pixelIds;
        private readonly ValueGetter<DataViewRowId> _rowIds;
        private readonly Queue<Task<Batch>> _inFlight = new();
        private readonly Stack<Batch> _free = new();
        private readonly int _width;
        private readonly int _maxInFlight;
        private Task _preparing = Task.CompletedTask;
        private volatile bool _pixelsDone;
        private Batch? _current;
        private int _index = -1;
        private MLImage? _resized;
        private bool _disposed;

        public Cursor(BatchedFeaturizerDataView parent, DataViewRowCursor rows, DataViewRowCursor? pixels)
        {
            _parent = parent;
            _rows = rows;
            _rowIds = rows.GetIdGetter();
            _pixels = pixels;
            _width = parent._scorer.OutputWidth;
            // One batch being prepared while each scoring slot is busy.
            _maxInFlight = parent._scorer.Parallelism + 1;
            if (pixels is not null)
            {
                _resizedGetter = pixels.GetGetter<MLImage>(pixels.Schema[parent._resizedColumn]);
                _pixelIds = pixels.GetIdGetter();
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
                _index = 0;
                if (!NextBatch())
                    throw new InvalidOperationException("The featurizer's pixel cursor ended before its row cursor: the input view does not return its rows in a stable order.");
            }
            DataViewRowId id = default;
            _rowIds(ref id);
            if (!id.Equals(_current!.Ids[_index]))
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

        /// <summary>Makes the next scored batch current; false when the pixels are exhausted.</summary>
        private bool NextBatch()
        {
            if (_current is not null) _free.Push(_current);
            _current = null;
            while (true)
            {
                Schedule();
                if (_inFlight.Count == 0) return false;
                var batch = _inFlight.Dequeue().GetAwaiter().GetResult();
                if (batch.Count > 0)
                {
                    _current = batch;
                    Schedule();
                    return true;
                }
                _free.Push(batch);
            }
        }

        private void Schedule()
        {
            var scorer = _parent._scorer;
            while (_inFlight.Count < _maxInFlight && !_pixelsDone)
            {
                var batch = _free.Count > 0 ? _free.Pop() : new Batch(Math.Max(1, _parent._options.BatchSize), scorer.InputLength, _width);
                var prepared = _preparing.ContinueWith(previous =>
                {
                    previous.GetAwaiter().GetResult(); // a failed preparation fails every later batch
                    return Prepare(batch);
                }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
                _preparing = prepared;
                _inFlight.Enqueue(prepared.ContinueWith(p =>
                {
                    var b = p.GetAwaiter().GetResult();
                    scorer.Score(b.Input, b.Count, b.Output);
                    for (int i = 0; i < b.Count; i++)
                    {
                        if (b.Failed[i]) b.Output.AsSpan(i * _width, _width).Fill(float.NaN);
                    }
                    return b;
                }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default));
            }
        }

        private Batch Prepare(Batch batch)
        {
            batch.Count = 0;
            int length = _parent._scorer.InputLength;
            while (batch.Count < batch.Ids.Length && !_pixelsDone)
            {
                if (!_pixels!.MoveNext())
                {
                    _pixelsDone = true;
                    break;
                }
                int k = batch.Count++;
                _pixelIds!(ref batch.Ids[k]);
                batch.Failed[k] = false;
                var target = batch.Input.AsSpan(k * length, length);
                try
                {
                    // The getter disposes the image it handed out last time; for a row without an image it then
                    // leaves that disposed image in place rather than null, so "unchanged" means missing too.
                    var previous = _resized;
                    _resizedGetter!(ref _resized!);
                    if (_resized is null || ReferenceEquals(_resized, previous))
                    {
                        _resized = null;
                        throw new InvalidDataException("the image is missing");
                    }
                    PlanarPixels.Write(_resized, target);
                }
                catch (Exception e) when (_parent._options.UnreadableImages == UnreadableImageHandling.Throw && e is not OutOfMemoryException)
                {
                    throw new InvalidDataException($"Row {_pixels.Position}: the image in column '{_parent._inputColumn}' could not be read ({Innermost(e).Message}).", e);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    batch.Failed[k] = true;
                    target.Clear();
                    _parent._options.Logger?.LogWarning("Row {Row}: the image in column '{Column}' could not be read ({Reason}); its features are NaN.",
                        _pixels.Position, _parent._inputColumn, Innermost(e).Message);
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
                // Let running batches finish before their cursor goes; their errors belong to rows nobody will read.
                _pixelsDone = true;
                foreach (var task in _inFlight)
                {
                    try { task.Wait(); } catch (AggregateException) { }
                }
                _pixels?.Dispose();
                _resized?.Dispose();
                _rows.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
