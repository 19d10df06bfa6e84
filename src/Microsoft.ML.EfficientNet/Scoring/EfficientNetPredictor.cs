using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.ML.Data;
using Microsoft.ML.EfficientNet.Explain;
using Microsoft.ML.EfficientNet.IO;
using Microsoft.ML.EfficientNet.Onnx;
using Microsoft.ML.EfficientNet.Preprocessing;
using Microsoft.ML.Transforms.Image;

namespace Microsoft.ML.EfficientNet.Scoring;

/// <summary>Options of <see cref="EfficientNetPredictor"/>. Every property has a documented default.</summary>
public sealed class EfficientNetPredictorOptions
{
    /// <summary>Default values of the options.</summary>
    public static class Defaults
    {
        /// <summary>Images scored per ONNX Runtime call.</summary>
        public const int BatchSize = 16;

        /// <summary>Classes reported per image.</summary>
        public const int Top = 5;
    }

    /// <summary>Images scored per ONNX Runtime call when several are predicted at once. Default <see cref="Defaults.BatchSize"/>.</summary>
    public int BatchSize { get; set; } = Defaults.BatchSize;

    /// <summary>Threads ONNX Runtime uses inside one operator. Default null: ONNX Runtime's own choice.</summary>
    public int? IntraOpThreads { get; set; }

    /// <summary>GPU to score on through ONNX Runtime's CUDA provider (the app must reference <c>Microsoft.ML.OnnxRuntime.Gpu</c>). Default null: CPU.</summary>
    public int? GpuDeviceId { get; set; }

    /// <summary>When <see cref="GpuDeviceId"/> is set and CUDA cannot be used: true scores on the CPU with a warning; false (default) throws.</summary>
    public bool FallbackToCpu { get; set; }

    /// <summary>
    /// Receives warnings (GPU fallback, unreadable images, the first EXIF orientation not applied, and, once, class
    /// activation maps too coarse to show anything: <see cref="ClassActivationMap.Warning"/>). Default null: nothing is logged.
    /// </summary>
    public ILogger? Logger { get; set; }

    /// <summary>
    /// For image files: apply EXIF orientations 2–8 before the resize, as
    /// <see cref="EfficientNetFeaturizerOptions.ApplyExifOrientation"/> does. Default false: the stored pixels, as ML.NET's
    /// <c>LoadImages</c> and a saved model see them (the first file whose orientation is not 1 is logged as a warning).
    /// Not applied to an <see cref="MLImage"/> given directly, which is already decoded.
    /// </summary>
    public bool ApplyExifOrientation { get; set; } = EfficientNetFeaturizerOptions.Defaults.ApplyExifOrientation;

    /// <summary>
    /// For image files: the largest width × height a file may claim in its header; a larger one is that row's error,
    /// before any pixel memory is allocated. Default <see cref="EfficientNetFeaturizerOptions.Defaults.MaxImagePixels"/>.
    /// </summary>
    public long MaxImagePixels { get; set; } = EfficientNetFeaturizerOptions.Defaults.MaxImagePixels;
}

/// <summary>One class and its probability.</summary>
/// <param name="ClassIndex">Index of the class in logit order.</param>
/// <param name="Label">The class's label, or its index as text when the model records no labels.</param>
/// <param name="Score">Softmax probability, in [0, 1].</param>
public sealed record ClassScore(int ClassIndex, string Label, float Score);

/// <summary>What <see cref="EfficientNetPredictor"/> says about one image: its best classes, or why it could not be read.</summary>
public sealed class ImagePrediction
{
    internal ImagePrediction(string source, IReadOnlyList<ClassScore> top, float[]? logits, ClassActivationMap? map, string? error)
    {
        Source = source;
        Top = top;
        Logits = logits;
        ActivationMap = map;
        Error = error;
    }

    /// <summary>Where the image came from: its path, an in-memory image's <c>Tag</c>, or <c>row N</c> of a data view.</summary>
    public string Source { get; }

    /// <summary>Null when the image was scored; else why it could not be read or decoded (and <see cref="Top"/> is empty).</summary>
    public string? Error { get; }

    /// <summary>True when the image was scored (<see cref="Error"/> is null).</summary>
    public bool Succeeded => Error is null;

    /// <summary>The best classes, highest probability first (fewer when the model has fewer classes); empty on error.</summary>
    public IReadOnlyList<ClassScore> Top { get; }

    /// <summary>The predicted label (the first of <see cref="Top"/>), or null on error.</summary>
    public string? Label => Top.Count > 0 ? Top[0].Label : null;

    /// <summary>The predicted class's index, or −1 on error.</summary>
    public int ClassIndex => Top.Count > 0 ? Top[0].ClassIndex : -1;

    /// <summary>The predicted class's softmax probability in [0, 1], or NaN on error.</summary>
    public float Score => Top.Count > 0 ? Top[0].Score : float.NaN;

    /// <summary>All the model's logits for the image, in class order; null on error.</summary>
    public IReadOnlyList<float>? Logits { get; }

    /// <summary>The class activation map of the predicted class, when asked for; null otherwise and on error.</summary>
    public ClassActivationMap? ActivationMap { get; }
}

/// <summary>
/// Classifies images with an EfficientNet ONNX model written by <c>efficientnet train</c> or <c>efficientnet export</c>
/// (preprocessing and labels in its metadata), and explains its answers with exact class activation maps
/// (<see cref="ClassActivationMap"/>). Images go through the deployed preprocessing (ML.NET's <c>ResizeImages</c> and
/// <c>ExtractPixels</c>, then the graph's crop and normalisation) and are scored in batches by one
/// <see cref="EfficientNetOnnxSession"/>. An image that cannot be read gives a prediction with <see cref="ImagePrediction.Error"/>
/// set when several are predicted at once; the others are still scored. Dispose it to free the session.
/// </summary>
public sealed class EfficientNetPredictor : IDisposable
{
    /// <summary>Name of the graph output the predictor adds for class activation maps.</summary>
    internal const string FeatureMapOutputName = "feature_map";

    private const string ImageColumn = "Image", ResizedColumn = "Resized", PixelsColumn = "Pixels";

    private readonly EfficientNetOnnxSession _session;
    private readonly ClassifierHead _head;
    private readonly ITransformer _pixels;
    private readonly EfficientNetPredictorOptions _options;
    // One decoder per predictor: truncated files and oversized headers are row errors, orientation as asked, one warning.
    private readonly ImageDecoder _decoder;
    // Set once the coarse-map warning has been logged: it holds for every map of the model, so once is enough.
    private int _coarseMapWarned;
    private bool _disposed;

    private EfficientNetPredictor(EfficientNetOnnxSession session, ClassifierHead head, OnnxModelMetadata metadata, string modelPath, ITransformer pixels, EfficientNetPredictorOptions options)
    {
        _session = session;
        _head = head;
        _pixels = pixels;
        _options = options;
        _decoder = new ImageDecoder(options.ApplyExifOrientation, options.MaxImagePixels, options.Logger);
        Metadata = metadata;
        ModelPath = modelPath;
        Labels = metadata.Labels ?? Enumerable.Range(0, metadata.NumClasses).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();
    }

    /// <summary>
    /// Opens a model: an <c>.onnx</c> file with a <c>logits</c> output, a run folder of <c>efficientnet train</c> (its
    /// <c>model.onnx</c>), or a weights file (<c>.safetensors</c>, <c>.pth</c>), exported in memory with the preprocessing
    /// and labels it records (<see cref="EfficientNetOnnxExporter.ReadOrExport"/>).
    /// </summary>
    /// <param name="model">The model file, weights file or run folder.</param>
    /// <param name="options">Batching, threads and GPU; default: batches of <see cref="EfficientNetPredictorOptions.Defaults.BatchSize"/> on the CPU.</param>
    /// <exception cref="FileNotFoundException">The model file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not an EfficientNetML ONNX model with a <c>logits</c> output; the message names it.</exception>
    /// <exception cref="ArgumentException">The model's logits do not come from a pool + linear head, or an option is out of range.</exception>
    public static EfficientNetPredictor Load(string model, EfficientNetPredictorOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(model);
        options ??= new EfficientNetPredictorOptions();
        if (options.BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(options), options.BatchSize, "BatchSize must be at least 1.");
        string path = Path.GetFullPath(RunFolder.ModelPathOf(model));
        byte[] bytes = EfficientNetOnnxExporter.ReadOrExport(path);
        var metadata = OnnxModelValidation.Check(bytes, path, OnnxExportOptions.LogitsOutputName);
        var (edited, head) = OnnxModelEditing.WithFeatureMapOutput(bytes, OnnxExportOptions.LogitsOutputName, FeatureMapOutputName);
        if (head.Classes != metadata.NumClasses)
            throw new InvalidDataException($"'{path}' records {metadata.NumClasses} classes but its classifier has {head.Classes}.");
        var session = new EfficientNetOnnxSession(edited, OnnxExportOptions.LogitsOutputName, FeatureMapOutputName, options.GpuDeviceId, options.FallbackToCpu,
            options.IntraOpThreads, parallelism: 1, options.Logger);
        try
        {
            var ml = new MLContext(seed: 0);
            var empty = new MLImageListDataView([]);
            var pixels = RecipeTransforms.ResizeAndExtract(ml.Transforms, metadata.Preprocessing, ImageColumn, ResizedColumn, PixelsColumn).Fit(empty);
            return new EfficientNetPredictor(session, head, metadata, path, pixels, options);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>The model file in use (absolute).</summary>
    public string ModelPath { get; }

    /// <summary>The model's recorded variant, classes, preprocessing and labels.</summary>
    public OnnxModelMetadata Metadata { get; }

    /// <summary>Class labels in logit order: the model's, or "0", "1", … when it records none.</summary>
    public IReadOnlyList<string> Labels { get; }

    /// <summary>Where runs go: <c>CPU</c> or <c>CUDA:{id}</c>.</summary>
    public string ExecutionProvider => _session.ExecutionProvider;

    /// <summary>Predicts one image file.</summary>
    /// <param name="imagePath">A JPEG, PNG, BMP, GIF or WebP file.</param>
    /// <param name="top">Classes to report, at least 1 (fewer when the model has fewer). Default 5.</param>
    /// <param name="explain">Also compute the predicted class's activation map. Default false.</param>
    /// <exception cref="InvalidDataException">The image cannot be read or decoded; the message names it.</exception>
    public ImagePrediction Predict(string imagePath, int top = EfficientNetPredictorOptions.Defaults.Top, bool explain = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(imagePath);
        return Single(Predict([imagePath], top, explain));
    }

    /// <summary>Predicts one encoded image (the contents of a JPEG, PNG, BMP, GIF or WebP file).</summary>
    /// <param name="encodedImage">The file's bytes.</param>
    /// <param name="top">Classes to report, at least 1. Default 5.</param>
    /// <param name="explain">Also compute the predicted class's activation map. Default false.</param>
    /// <exception cref="InvalidDataException">The bytes cannot be decoded as an image.</exception>
    public ImagePrediction Predict(byte[] encodedImage, int top = EfficientNetPredictorOptions.Defaults.Top, bool explain = false)
    {
        ArgumentNullException.ThrowIfNull(encodedImage);
        return Single(Run([new Item("bytes", () => MLImage.CreateFromStream(new MemoryStream(encodedImage, writable: false)), Owned: true)], top, explain));
    }

    /// <summary>Predicts one decoded image (for example from ML.NET's <c>LoadImages</c>); the image is not disposed.</summary>
    /// <param name="image">The image.</param>
    /// <param name="top">Classes to report, at least 1. Default 5.</param>
    /// <param name="explain">Also compute the predicted class's activation map. Default false.</param>
    public ImagePrediction Predict(MLImage image, int top = EfficientNetPredictorOptions.Defaults.Top, bool explain = false)
    {
        ArgumentNullException.ThrowIfNull(image);
        return Single(Run([new Item(image.Tag ?? "image", () => image, Owned: false)], top, explain));
    }

    /// <summary>
    /// Predicts image files in batches, lazily, one prediction per path in order. A file that cannot be read gives a
    /// prediction with <see cref="ImagePrediction.Error"/> set, and the rest are still scored.
    /// </summary>
    /// <param name="imagePaths">Image files.</param>
    /// <param name="top">Classes to report per image, at least 1. Default 5.</param>
    /// <param name="explain">Also compute each predicted class's activation map. Default false.</param>
    public IEnumerable<ImagePrediction> Predict(IEnumerable<string> imagePaths, int top = EfficientNetPredictorOptions.Defaults.Top, bool explain = false)
    {
        ArgumentNullException.ThrowIfNull(imagePaths);
        CheckTop(top);
        return Run(imagePaths.Select(p => new Item(p, () => _decoder.DecodeMLImage(p), Owned: true)), top, explain);
    }

    /// <summary>
    /// Predicts every row of <paramref name="data"/>, lazily and in row order. The column holds decoded images
    /// (<see cref="MLImage"/>, from <c>LoadImages</c>) or text (image file paths). A row whose image is missing or
    /// cannot be read gives a prediction with <see cref="ImagePrediction.Error"/> set.
    /// </summary>
    /// <param name="data">The rows.</param>
    /// <param name="imageColumnName">The image or path column. Default <c>Image</c>.</param>
    /// <param name="top">Classes to report per image, at least 1. Default 5.</param>
    /// <param name="explain">Also compute each predicted class's activation map. Default false.</param>
    /// <exception cref="ArgumentOutOfRangeException">The column is missing or neither an image nor text; the message names it.</exception>
    public IEnumerable<ImagePrediction> Predict(IDataView data, string imageColumnName = "Image", int top = EfficientNetPredictorOptions.Defaults.Top, bool explain = false)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentException.ThrowIfNullOrWhiteSpace(imageColumnName);
        CheckTop(top);
        DataViewSchema.Column? maybe = data.Schema.GetColumnOrNull(imageColumnName)
            ?? throw new ArgumentOutOfRangeException(nameof(imageColumnName), imageColumnName, $"The data has no column '{imageColumnName}'; its columns are [{string.Join(", ", data.Schema.Select(c => c.Name))}].");
        var found = maybe.Value;
        if (found.Type is not (ImageDataViewType or TextDataViewType))
            throw new ArgumentOutOfRangeException(nameof(imageColumnName), imageColumnName, $"Column '{imageColumnName}' is {found.Type}; an Image column or a String column of image paths is needed.");
        return Run(Rows(data, found), top, explain);
    }

    /// <summary>The class activation map of one image file for <paramref name="classIndex"/> (default: the predicted class).</summary>
    /// <param name="imagePath">The image file.</param>
    /// <param name="classIndex">A class in [0, classes); default null: the predicted class.</param>
    /// <exception cref="InvalidDataException">The image cannot be read or decoded.</exception>
    public ClassActivationMap Explain(string imagePath, int? classIndex = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(imagePath);
        if (classIndex is { } c && (c < 0 || c >= Labels.Count))
            throw new ArgumentOutOfRangeException(nameof(classIndex), classIndex, $"The model has {Labels.Count} classes: give a class in [0, {Labels.Count}).");
        return Single(Run([new Item(imagePath, () => _decoder.DecodeMLImage(imagePath), Owned: true)], 1, explain: true, classIndex)).ActivationMap!;
    }

    private IEnumerable<Item> Rows(IDataView data, DataViewSchema.Column column)
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
                yield return path.Length == 0 ? new Item(row, () => throw new InvalidDataException("the path is empty"), Owned: true)
                    : new Item(path, () => _decoder.DecodeMLImage(path), Owned: true);
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
                    error = Innermost(e).Message;
                }
                var captured = image;
                yield return new Item(captured?.Tag ?? row, () => captured ?? throw new InvalidDataException(error ?? "the image is missing"), Owned: false);
            }
        }
    }

    private sealed record Item(string Source, Func<MLImage> Load, bool Owned);

    private IEnumerable<ImagePrediction> Run(IEnumerable<Item> items, int top, bool explain, int? classIndex = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        CheckTop(top);
        var batch = new List<Item>(_options.BatchSize);
        foreach (var item in items)
        {
            batch.Add(item);
            if (batch.Count == _options.BatchSize)
            {
                foreach (var p in Score(batch, top, explain, classIndex)) yield return p;
                batch.Clear();
            }
        }
        if (batch.Count > 0) foreach (var p in Score(batch, top, explain, classIndex)) yield return p;
    }

    private List<ImagePrediction> Score(List<Item> items, int top, bool explain, int? classIndex)
    {
        var errors = new string?[items.Count];
        var images = new MLImage?[items.Count];
        try
        {
            for (int i = 0; i < items.Count; i++)
            {
                try
                {
                    images[i] = items[i].Load();
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    errors[i] = $"'{items[i].Source}' could not be read as an image ({Innermost(e).Message}).";
                }
            }

            // The deployed preprocessing: ML.NET's resize and pixel extraction, then (bare models only) crop and normalise here.
            var recipe = Metadata.Preprocessing;
            int resizeLength = 3 * recipe.ResizeSize * recipe.ResizeSize, length = _session.InputLength;
            var loaded = Enumerable.Range(0, items.Count).Where(i => images[i] is not null).ToList();
            var input = new float[loaded.Count * length];
            var scored = new List<int>(loaded.Count);
            var view = _pixels.Transform(new MLImageListDataView(loaded.Select(i => images[i]!).ToList()));
            using (var cursor = view.GetRowCursor([view.Schema[PixelsColumn]]))
            {
                var getPixels = cursor.GetGetter<VBuffer<float>>(view.Schema[PixelsColumn]);
                VBuffer<float> buffer = default;
                for (int r = 0; r < loaded.Count && cursor.MoveNext(); r++)
                {
                    int i = loaded[r];
                    try
                    {
                        getPixels(ref buffer);
                        var values = buffer.GetValues();
                        if (values.Length != resizeLength) throw new InvalidDataException($"expected {resizeLength} pixel values, got {values.Length}");
                        var target = input.AsSpan(scored.Count * length, length);
                        if (Metadata.Bare) recipe.Normalize(values, target);
                        else values.CopyTo(target);
                        scored.Add(i);
                    }
                    catch (Exception e) when (e is not OutOfMemoryException)
                    {
                        errors[i] = $"'{items[i].Source}' could not be read as an image ({Innermost(e).Message}).";
                    }
                }
            }

            int classes = _session.OutputWidth;
            var logits = new float[Math.Max(1, scored.Count) * classes];
            float[]? map = null;
            int channels = 0, height = 0, width = 0;
            if (scored.Count > 0)
            {
                if (explain) (map, channels, height, width) = _session.ScoreWithFeatureMap(input, scored.Count, logits);
                else _session.Score(input, scored.Count, logits);
            }

            var results = new ImagePrediction[items.Count];
            for (int s = 0; s < scored.Count; s++)
            {
                int i = scored[s];
                var row = logits.AsSpan(s * classes, classes).ToArray();
                var probabilities = Softmax(row);
                // Ranked by logit, exact even where nearly equal logits round to the same probability.
                var order = Enumerable.Range(0, classes).OrderByDescending(c => row[c]).ThenBy(c => c).Take(top)
                    .Select(c => new ClassScore(c, Labels[c], probabilities[c])).ToArray();
                ClassActivationMap? cam = null;
                if (map is not null)
                {
                    int c = classIndex ?? order[0].ClassIndex, cells = channels * height * width;
                    var values = ClassActivationMap.Compute(map.AsSpan(s * cells, cells), channels, height, width, _head, c);
                    cam = new ClassActivationMap(values, c, Labels[c], probabilities[c], row[c], recipe);
                    if (cam.Warning is { } warning && Interlocked.Exchange(ref _coarseMapWarned, 1) == 0) _options.Logger?.LogWarning("{Warning}", warning);
                }
                results[i] = new ImagePrediction(items[i].Source, order, row, cam, null);
            }
            for (int i = 0; i < items.Count; i++)
            {
                if (results[i] is not null) continue;
                string error = errors[i] ?? $"'{items[i].Source}' could not be read as an image.";
                _options.Logger?.LogWarning("{Error}", error);
                results[i] = new ImagePrediction(items[i].Source, [], null, null, error);
            }
            return [.. results];
        }
        finally
        {
            for (int i = 0; i < items.Count; i++) if (items[i].Owned) images[i]?.Dispose();
        }
    }

    private static float[] Softmax(float[] logits)
    {
        double max = logits.Max(), sum = 0;
        var e = new double[logits.Length];
        for (int i = 0; i < logits.Length; i++) sum += e[i] = Math.Exp(logits[i] - max);
        return e.Select(v => (float)(v / sum)).ToArray();
    }

    private static ImagePrediction Single(IEnumerable<ImagePrediction> predictions)
    {
        var p = predictions.Single();
        return p.Succeeded ? p : throw new InvalidDataException(p.Error);
    }

    private static void CheckTop(int top)
    {
        if (top < 1) throw new ArgumentOutOfRangeException(nameof(top), top, "top must be at least 1.");
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e;
    }

    /// <summary>Frees the ONNX Runtime session; later predictions throw <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _session.Dispose();
    }
}

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
