using System.Globalization;
using Microsoft.ML.Data;
using Microsoft.ML.EfficientNet.Explain;
using Microsoft.ML.EfficientNet.IO;
using Microsoft.ML.EfficientNet.Onnx;
using Microsoft.ML.EfficientNet.Preprocessing;
using Microsoft.ML.Transforms.Image;
using Microsoft.ML.EfficientNet.Runtime;

namespace Microsoft.ML.EfficientNet.Scoring;

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

    // The parts of a prediction: where images come from, their pixels, the run, and the explanation.
    private readonly EfficientNetOnnxSession _session;
    private readonly PredictorImageSources _sources;
    private readonly PredictorPixels _pixels;
    private readonly ActivationMaps _maps;
    private readonly EfficientNetPredictorOptions _options;
    private bool _disposed;

    private EfficientNetPredictor(EfficientNetOnnxSession session, ClassifierHead head, OnnxModelMetadata metadata, string modelPath, EfficientNetPredictorOptions options)
    {
        _session = session;
        _options = options;
        Metadata = metadata;
        ModelPath = modelPath;
        Labels = metadata.Labels ?? Enumerable.Range(0, metadata.NumClasses).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();
        // One decoder per predictor: truncated files and oversized headers are row errors, orientation as asked, one warning.
        _sources = new PredictorImageSources(new ImageDecoder(options.ApplyExifOrientation, options.MaxImagePixels, options.Logger));
        _pixels = new PredictorPixels(metadata, session.InputLength);
        _maps = new ActivationMaps(head, Labels, metadata.Preprocessing, options.Logger);
    }

    /// <summary>
    /// Opens a model: an <c>.onnx</c> file with a <c>logits</c> output, a run folder of <c>efficientnet train</c> (its
    /// <c>model.onnx</c>), an ML.NET <c>model.zip</c> the EfficientNet trainer saved (the classifier inside it), or a
    /// weights file (<c>.safetensors</c>, <c>.pth</c>), exported in memory with the preprocessing and labels it records
    /// (<see cref="EfficientNetOnnxExporter.ReadOrExport"/>).
    /// </summary>
    /// <param name="model">The model file, ML.NET model.zip, weights file or run folder.</param>
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
            return new EfficientNetPredictor(session, head, metadata, path, options);
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
    internal OnnxModelMetadata Metadata { get; }

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
        return PredictionResults.Single(Predict([imagePath], top, explain));
    }

    /// <summary>
    /// Predicts one encoded image (the contents of a JPEG, PNG, BMP, GIF or WebP file), decoded as a file is: truncated
    /// data and a header claiming more than <see cref="EfficientNetPredictorOptions.MaxImagePixels"/> are refused.
    /// </summary>
    /// <param name="encodedImage">The file's bytes.</param>
    /// <param name="top">Classes to report, at least 1. Default 5.</param>
    /// <param name="explain">Also compute the predicted class's activation map. Default false.</param>
    /// <exception cref="InvalidDataException">The bytes are empty, not an image, truncated or too large; the message says which.</exception>
    public ImagePrediction Predict(byte[] encodedImage, int top = EfficientNetPredictorOptions.Defaults.Top, bool explain = false)
    {
        ArgumentNullException.ThrowIfNull(encodedImage);
        return PredictionResults.Single(Run([_sources.Bytes(encodedImage)], top, explain));
    }

    /// <summary>Predicts one decoded image (for example from ML.NET's <c>LoadImages</c>); the image is not disposed.</summary>
    /// <param name="image">The image.</param>
    /// <param name="top">Classes to report, at least 1. Default 5.</param>
    /// <param name="explain">Also compute the predicted class's activation map. Default false.</param>
    public ImagePrediction Predict(MLImage image, int top = EfficientNetPredictorOptions.Defaults.Top, bool explain = false)
    {
        ArgumentNullException.ThrowIfNull(image);
        return PredictionResults.Single(Run([PredictorImageSources.Image(image)], top, explain));
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
        return Run(imagePaths.Select(_sources.File), top, explain);
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
        return Run(_sources.Rows(data, found), top, explain);
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
        return PredictionResults.Single(Run([_sources.File(imagePath)], 1, explain: true, classIndex)).ActivationMap!;
    }

    private IEnumerable<ImagePrediction> Run(IEnumerable<PredictorImage> items, int top, bool explain, int? classIndex = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        CheckTop(top);
        var batch = new List<PredictorImage>(_options.BatchSize);
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

    /// <summary>Scores one batch: loads each image, extracts the pixels of those that loaded, runs them in one call, and reports each, in order.</summary>
    private List<ImagePrediction> Score(List<PredictorImage> items, int top, bool explain, int? classIndex)
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
                    errors[i] = PredictionResults.Unreadable(items[i].Source, e);
                }
            }
            var (input, scored) = _pixels.Extract(images, (i, e) => errors[i] = PredictionResults.Unreadable(items[i].Source, e));
            var (logits, maps) = RunBatch(input, scored.Count, explain);

            var results = new ImagePrediction[items.Count];
            for (int s = 0; s < scored.Count; s++)
            {
                int i = scored[s];
                results[i] = Result(items[i].Source, logits, s, maps, top, classIndex);
            }
            for (int i = 0; i < items.Count; i++) results[i] ??= PredictionResults.Failed(items[i].Source, errors[i], _options.Logger);
            return [.. results];
        }
        finally
        {
            for (int i = 0; i < items.Count; i++) if (items[i].Owned) images[i]?.Dispose();
        }
    }

    /// <summary>Where the predictor's images come from, decoded with its decoder (orientation, pixel limit).</summary>
    internal PredictorImageSources Sources => _sources;

    /// <summary>Floats in one image's input: the length of <see cref="PrepareInput"/>'s result.</summary>
    internal int InputLength => _session.InputLength;

    /// <summary>
    /// Loads one image and extracts its input as a batch of one would, on the calling thread: the half of a prediction
    /// that <see cref="BatchingPredictor"/> does before an image joins a batch.
    /// </summary>
    /// <exception cref="InvalidDataException">The image cannot be read, decoded or resized; the message names it and why.</exception>
    internal float[] PrepareInput(PredictorImage item)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        string? error = null;
        MLImage? image = null;
        try
        {
            image = item.Load();
            var (input, scored) = _pixels.Extract([image], (_, e) => error = PredictionResults.Unreadable(item.Source, e));
            if (scored.Count == 1) return input;
        }
        catch (InvalidDataException)
        {
            // The decoder's own message names the image and says why.
            throw;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            error = PredictionResults.Unreadable(item.Source, e);
        }
        finally
        {
            if (item.Owned) image?.Dispose();
        }
        throw new InvalidDataException(error ?? $"'{item.Source}' could not be read as an image.");
    }

    /// <summary>
    /// One session run over <paramref name="count"/> images' inputs, packed one after another: their logits, and
    /// their feature maps when <paramref name="featureMaps"/> is set.
    /// </summary>
    internal (float[] Logits, FeatureMapBatch? Maps) RunBatch(float[] input, int count, bool featureMaps)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var logits = new float[Math.Max(1, count) * _session.OutputWidth];
        if (count == 0) return (logits, null);
        if (!featureMaps)
        {
            _session.Score(input, count, logits);
            return (logits, null);
        }
        var (values, channels, height, width) = _session.ScoreWithFeatureMap(input, count, logits);
        return (logits, new FeatureMapBatch(values, channels, height, width));
    }

    /// <summary>
    /// The prediction of image <paramref name="index"/> of a batch <see cref="RunBatch"/> scored: softmax, the best
    /// <paramref name="top"/> classes, and its activation map when the batch has maps (for
    /// <paramref name="classIndex"/>, default the predicted class).
    /// </summary>
    internal ImagePrediction Result(string source, float[] logits, int index, FeatureMapBatch? maps, int top, int? classIndex)
    {
        int classes = _session.OutputWidth;
        var row = logits.AsSpan(index * classes, classes).ToArray();
        var probabilities = PredictionResults.Softmax(row);
        var order = PredictionResults.Rank(row, probabilities, Labels, top);
        var map = maps is { } m ? _maps.Explain(m, index, classIndex ?? order[0].ClassIndex, probabilities, row) : null;
        return new ImagePrediction(source, order, row, map, null);
    }

    private static void CheckTop(int top)
    {
        if (top < 1) throw new ArgumentOutOfRangeException(nameof(top), top, "top must be at least 1.");
    }

    /// <summary>Frees the ONNX Runtime session; later predictions throw <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _session.Dispose();
    }
}
