using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.EfficientNet.Preprocessing;
using Microsoft.ML.Transforms.Image;

namespace Microsoft.ML.EfficientNet.Data;

/// <summary>
/// The images and key labels of an ML.NET data view as a <see cref="LabeledImageSet"/>. Images loaded from files (ML.NET's
/// <c>LoadImages</c> records the path in <see cref="MLImage.Tag"/>) are re-read from disk when needed, so the set holds
/// only paths; other images are kept decoded in memory.
/// </summary>
internal sealed class DataViewImageSet : LabeledImageSet
{
    private readonly List<string?> _paths = [];
    private readonly List<RgbImage?> _decoded = [];
    private readonly List<int> _labels = [];
    private readonly string[] _classes;

    /// <summary>Reads the image and label columns once.</summary>
    /// <param name="data">The data view.</param>
    /// <param name="imageColumn">An <see cref="MLImage"/> column.</param>
    /// <param name="labelColumn">A key-typed label column (from <c>MapValueToKey</c>).</param>
    /// <param name="classes">Class names in key order; default: the label column's key values.</param>
    public DataViewImageSet(IDataView data, string imageColumn, string labelColumn, IReadOnlyList<string>? classes = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        var image = ImageColumn(data, imageColumn);
        var label = data.Schema.GetColumnOrNull(labelColumn) ?? throw new ArgumentOutOfRangeException(nameof(labelColumn), $"Could not find label column '{labelColumn}'.");
        if (label.Type is not KeyDataViewType key)
            throw new ArgumentOutOfRangeException(nameof(labelColumn), $"Schema mismatch for label column '{labelColumn}': expected Key<UInt32>, got {label.Type}. " +
                "Map labels to keys with mlContext.Transforms.Conversion.MapValueToKey first.");
        _classes = (classes ?? KeyNames(label, (int)key.Count)).ToArray();
        Read(data, image, label, int.MaxValue);
    }

    /// <summary>
    /// Reads up to <paramref name="maxImages"/> images of an image column, without labels (one class,
    /// <see cref="FileImageSet.UnlabelledClass"/>): calibration images drawn from the data a featurizer is fitted on.
    /// </summary>
    /// <param name="data">The data view.</param>
    /// <param name="imageColumn">An <see cref="MLImage"/> column.</param>
    /// <param name="maxImages">Images read at most, from the first rows.</param>
    public DataViewImageSet(IDataView data, string imageColumn, int maxImages)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxImages, 1);
        _classes = [FileImageSet.UnlabelledClass];
        Read(data, ImageColumn(data, imageColumn), null, maxImages);
    }

    private static DataViewSchema.Column ImageColumn(IDataView data, string imageColumn)
    {
        var image = data.Schema.GetColumnOrNull(imageColumn) ?? throw new ArgumentOutOfRangeException(nameof(imageColumn), $"Could not find input column '{imageColumn}'.");
        if (image.Type is not ImageDataViewType)
            throw new ArgumentOutOfRangeException(nameof(imageColumn), $"Schema mismatch for input column '{imageColumn}': expected Image, got {image.Type}.");
        return image;
    }

    private void Read(IDataView data, DataViewSchema.Column image, DataViewSchema.Column? label, int maxImages)
    {
        using var cursor = data.GetRowCursor(label is { } l ? [image, l] : [image]);
        var getImage = cursor.GetGetter<MLImage>(image);
        var getLabel = label is { } column ? cursor.GetGetter<uint>(column) : null;
        MLImage? value = null;
        uint labelKey = 1;
        while (_labels.Count < maxImages && cursor.MoveNext())
        {
            getLabel?.Invoke(ref labelKey);
            if (labelKey == 0 || labelKey > _classes.Length) continue; // missing label
            getImage(ref value!);
            if (value is null) continue;
            bool onDisk = value.Tag is { Length: > 0 } tag && File.Exists(tag);
            _paths.Add(onDisk ? value.Tag! : null);
            _decoded.Add(onDisk ? null : ToRgb(value));
            _labels.Add((int)labelKey - 1);
        }
    }

    /// <inheritdoc />
    public override int Count => _labels.Count;

    /// <inheritdoc />
    public override IReadOnlyList<string> Classes => _classes;

    /// <inheritdoc />
    public override int Label(int index) => _labels[index];

    /// <inheritdoc />
    internal override RgbImage Load(int index) => Load(index, ImageDecoder.Default);

    /// <inheritdoc />
    internal override MLImage LoadMLImage(int index) => LoadMLImage(index, ImageDecoder.Default);

    /// <inheritdoc />
    internal override RgbImage Load(int index, ImageDecoder decoder) => _decoded[index] ?? decoder.DecodeRgb(_paths[index]!);

    /// <inheritdoc />
    internal override MLImage LoadMLImage(int index, ImageDecoder decoder)
    {
        if (_paths[index] is { } path) return decoder.DecodeMLImage(path);
        var rgb = _decoded[index]!;
        var bgra = new byte[rgb.Width * rgb.Height * 4];
        for (int i = 0; i < rgb.Width * rgb.Height; i++)
        {
            bgra[4 * i] = rgb.Pixels[3 * i + 2];
            bgra[4 * i + 1] = rgb.Pixels[3 * i + 1];
            bgra[4 * i + 2] = rgb.Pixels[3 * i];
            bgra[4 * i + 3] = 255;
        }
        return MLImage.CreateFromPixels(rgb.Width, rgb.Height, MLPixelFormat.Bgra32, bgra);
    }

    /// <inheritdoc />
    public override string Describe(int index) => _paths[index] ?? $"row {index} (in memory)";

    private static string[] KeyNames(DataViewSchema.Column label, int count)
    {
        if (label.HasKeyValues())
        {
            var names = new VBuffer<ReadOnlyMemory<char>>();
            label.GetKeyValues(ref names);
            return names.DenseValues().Select(n => n.ToString()).ToArray();
        }
        return Enumerable.Range(0, count).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
    }

    private static RgbImage ToRgb(MLImage image)
    {
        var pixels = image.Pixels;
        int n = image.Width * image.Height;
        var rgb = new byte[n * 3];
        bool bgra = image.PixelFormat == MLPixelFormat.Bgra32;
        for (int i = 0; i < n; i++)
        {
            rgb[3 * i] = pixels[4 * i + (bgra ? 2 : 0)];
            rgb[3 * i + 1] = pixels[4 * i + 1];
            rgb[3 * i + 2] = pixels[4 * i + (bgra ? 0 : 2)];
        }
        return new RgbImage(image.Width, image.Height, rgb);
    }
}
