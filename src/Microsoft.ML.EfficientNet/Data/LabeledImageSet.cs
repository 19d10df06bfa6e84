using Microsoft.ML.Data;
using Microsoft.ML.EfficientNet.Preprocessing;

namespace Microsoft.ML.EfficientNet.Data;

/// <summary>
/// Labelled images with random access, loaded on demand: a training data set is never held in memory as decoded
/// images (Fashion-MNIST's 47 MB of raw bytes aside).
/// </summary>
public abstract class LabeledImageSet
{
    private protected LabeledImageSet()
    {
    }

    /// <summary>All images of a folder with one sub-folder per class (the sub-folder's name is the label).</summary>
    /// <param name="root">The folder.</param>
    /// <returns>The images, loaded on demand.</returns>
    public static LabeledImageSet FromFolder(string root) => FileImageSet.FromFolder(root);

    /// <summary>
    /// A folder with one sub-folder per class as <see cref="FromFolder"/>, or, when it has fewer than two class folders
    /// with images, every image under it as one unlabelled class: calibration images for the quantizer need no labels.
    /// </summary>
    /// <param name="root">The folder.</param>
    /// <returns>The images, loaded on demand.</returns>
    public static LabeledImageSet FromFolderOrFlat(string root) => FileImageSet.FromFolderOrFlat(root);

    /// <summary>The images of an ML.NET data view: an <see cref="MLImage"/> column and a key-typed label column.</summary>
    /// <param name="data">The data view.</param>
    /// <param name="imageColumnName">An <see cref="MLImage"/> column (from <c>LoadImages</c>).</param>
    /// <param name="labelColumnName">A key-typed label column (from <c>MapValueToKey</c>); its key values are the class names.</param>
    /// <returns>The images, read once.</returns>
    public static LabeledImageSet FromDataView(IDataView data, string imageColumnName = "Image", string labelColumnName = "Label") =>
        new DataViewImageSet(data, imageColumnName, labelColumnName);

    /// <summary>Number of images.</summary>
    public abstract int Count { get; }

    /// <summary>Class names; a label is an index into this list.</summary>
    public abstract IReadOnlyList<string> Classes { get; }

    /// <summary>The label of image <paramref name="index"/>.</summary>
    /// <param name="index">Zero-based image index.</param>
    public abstract int Label(int index);

    /// <summary>Decodes image <paramref name="index"/> for training-time augmentation.</summary>
    /// <param name="index">Zero-based image index.</param>
    internal abstract RgbImage Load(int index);

    /// <summary>The image as ML.NET's <c>LoadImages</c> would produce it, for evaluation through the scoring chain.</summary>
    /// <param name="index">Zero-based image index.</param>
    internal abstract MLImage LoadMLImage(int index);

    /// <summary>
    /// Decodes image <paramref name="index"/> with a run's <paramref name="decoder"/> (EXIF orientation, pixel limit, the
    /// orientation warning). Sets whose images come from files override it; the default ignores the decoder and calls
    /// <see cref="Load(int)"/>.
    /// </summary>
    /// <param name="index">Zero-based image index.</param>
    /// <param name="decoder">The run's decoder.</param>
    internal virtual RgbImage Load(int index, ImageDecoder decoder) => Load(index);

    /// <summary>
    /// As <see cref="LoadMLImage(int)"/>, with a run's <paramref name="decoder"/>; the default ignores the decoder.
    /// </summary>
    /// <param name="index">Zero-based image index.</param>
    /// <param name="decoder">The run's decoder.</param>
    internal virtual MLImage LoadMLImage(int index, ImageDecoder decoder) => LoadMLImage(index);

    /// <summary>Where image <paramref name="index"/> comes from (file path or data-set position), for messages.</summary>
    /// <param name="index">Zero-based image index.</param>
    public abstract string Describe(int index);

    /// <summary>A subset in the given order.</summary>
    /// <param name="indices">Indices into this set.</param>
    public LabeledImageSet Subset(IReadOnlyList<int> indices) => new SubsetImageSet(this, indices);

    /// <summary>
    /// A seeded, stratified split: within each class a fraction (at least one image when the class has two or more)
    /// goes to validation.
    /// </summary>
    /// <param name="validationFraction">Share of each class held out, in [0, 1).</param>
    /// <param name="seed">The same seed gives the same split.</param>
    public (LabeledImageSet Train, LabeledImageSet Validation) Split(double validationFraction, int seed)
    {
        var (train, validation) = StratifiedSplit.Split(Enumerable.Range(0, Count).Select(Label).ToArray(), validationFraction, seed);
        train.Sort();
        validation.Sort();
        return (Subset(train), Subset(validation));
    }

    /// <summary>The first <paramref name="perClass"/> images of each class (in index order), for few-shot experiments.</summary>
    /// <param name="perClass">Images kept per class.</param>
    public LabeledImageSet TakePerClass(int perClass)
    {
        var counts = new int[Classes.Count];
        var kept = new List<int>();
        for (int i = 0; i < Count; i++)
        {
            if (counts[Label(i)]++ < perClass) kept.Add(i);
        }
        return Subset(kept);
    }

    private sealed class SubsetImageSet(LabeledImageSet parent, IReadOnlyList<int> indices) : LabeledImageSet
    {
        public override int Count => indices.Count;
        public override IReadOnlyList<string> Classes => parent.Classes;
        public override int Label(int index) => parent.Label(indices[index]);
        internal override RgbImage Load(int index) => parent.Load(indices[index]);
        internal override MLImage LoadMLImage(int index) => parent.LoadMLImage(indices[index]);
        internal override RgbImage Load(int index, ImageDecoder decoder) => parent.Load(indices[index], decoder);
        internal override MLImage LoadMLImage(int index, ImageDecoder decoder) => parent.LoadMLImage(indices[index], decoder);
        public override string Describe(int index) => parent.Describe(indices[index]);
    }
}

/// <summary>Image files with labels, for example an <see cref="ImageFolder"/>.</summary>
internal sealed class FileImageSet : LabeledImageSet
{
    private readonly string[] _paths;
    private readonly int[] _labels;
    private readonly string[] _classes;

    /// <summary>Creates the set from absolute paths and label indices.</summary>
    /// <param name="paths">Image files.</param>
    /// <param name="labels">Label index of each file.</param>
    /// <param name="classes">Class names.</param>
    public FileImageSet(IEnumerable<string> paths, IEnumerable<int> labels, IEnumerable<string> classes)
    {
        _paths = paths.ToArray();
        _labels = labels.ToArray();
        _classes = classes.ToArray();
        if (_paths.Length != _labels.Length) throw new ArgumentException($"{_paths.Length} paths but {_labels.Length} labels.", nameof(labels));
        if (_labels.Any(l => l < 0 || l >= _classes.Length)) throw new ArgumentException($"Labels must be in [0, {_classes.Length}).", nameof(labels));
    }

    /// <summary>All images of a folder with one sub-folder per class.</summary>
    /// <param name="root">The folder.</param>
    public static new FileImageSet FromFolder(string root) => FromFolder(ImageFolder.Open(root));

    /// <summary>The images of a listed folder, labelled by their class folders.</summary>
    /// <param name="folder">The listing (<see cref="ImageFolder.Open"/>, <see cref="ImageFolder.OpenOrFlat"/>); its <see cref="ImageFolder.Skipped"/> is the caller's to report.</param>
    public static FileImageSet FromFolder(ImageFolder folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        var index = folder.Classes.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => p.i, StringComparer.Ordinal);
        return new FileImageSet(folder.Rows.Select(r => Path.Combine(folder.Root, r.Path)), folder.Rows.Select(r => index[r.Label]), folder.Classes);
    }

    /// <summary>Name of the one class of a folder without class sub-folders.</summary>
    public const string UnlabelledClass = "(unlabelled)";

    /// <summary>
    /// The images of a folder with one sub-folder per class (as <see cref="FromFolder(string)"/>), or, when it has fewer than two
    /// class folders with images, every image under it as one class, <see cref="UnlabelledClass"/>: calibration images need
    /// no labels.
    /// </summary>
    /// <param name="root">The folder.</param>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="InvalidDataException">It holds no image files.</exception>
    public static new FileImageSet FromFolderOrFlat(string root) => FromFolder(ImageFolder.OpenOrFlat(root));

    /// <inheritdoc />
    public override int Count => _paths.Length;

    /// <inheritdoc />
    public override IReadOnlyList<string> Classes => _classes;

    /// <inheritdoc />
    public override int Label(int index) => _labels[index];

    /// <inheritdoc />
    internal override RgbImage Load(int index) => Load(index, ImageDecoder.Default);

    /// <inheritdoc />
    internal override MLImage LoadMLImage(int index) => LoadMLImage(index, ImageDecoder.Default);

    /// <inheritdoc />
    internal override RgbImage Load(int index, ImageDecoder decoder) => decoder.DecodeRgb(_paths[index]);

    /// <inheritdoc />
    internal override MLImage LoadMLImage(int index, ImageDecoder decoder) => decoder.DecodeMLImage(_paths[index]);

    /// <inheritdoc />
    public override string Describe(int index) => _paths[index];
}

/// <summary>Fashion-MNIST images (grayscale expanded to RGB), optionally a subset of classes relabelled 0…k−1.</summary>
internal sealed class FashionMnistImageSet : LabeledImageSet
{
    private readonly FashionMnist _data;
    private readonly int[] _indices;
    private readonly int[] _labelMap;
    private readonly string[] _classes;
    private readonly string _split;

    /// <summary>Reads a split of Fashion-MNIST.</summary>
    /// <param name="train">True for the 60,000 training images, false for the 10,000 test images.</param>
    /// <param name="classes">Original labels to keep, relabelled 0…k−1 in this order; default all ten.</param>
    /// <param name="directory">Folder of the IDX files; default <see cref="FashionMnist.DefaultDirectory"/>.</param>
    public FashionMnistImageSet(bool train, IReadOnlyList<int>? classes = null, string? directory = null)
    {
        _data = FashionMnist.Load(train, directory);
        _split = train ? "train" : "test";
        var kept = classes ?? Enumerable.Range(0, 10).ToArray();
        _labelMap = Enumerable.Repeat(-1, 10).ToArray();
        for (int i = 0; i < kept.Count; i++) _labelMap[kept[i]] = i;
        _indices = Enumerable.Range(0, _data.Count).Where(i => _labelMap[_data.Labels[i]] >= 0).ToArray();
        _classes = kept.Select(FashionMnist.FolderName).ToArray();
    }

    /// <inheritdoc />
    public override int Count => _indices.Length;

    /// <inheritdoc />
    public override IReadOnlyList<string> Classes => _classes;

    /// <inheritdoc />
    public override int Label(int index) => _labelMap[_data.Labels[_indices[index]]];

    /// <inheritdoc />
    internal override RgbImage Load(int index) => RgbImage.FromGray(_data.Image(_indices[index]), FashionMnist.ImageSize, FashionMnist.ImageSize);

    /// <inheritdoc />
    internal override MLImage LoadMLImage(int index)
    {
        var gray = _data.Image(_indices[index]);
        var bgra = new byte[gray.Length * 4];
        for (int i = 0; i < gray.Length; i++)
        {
            bgra[4 * i] = bgra[4 * i + 1] = bgra[4 * i + 2] = gray[i];
            bgra[4 * i + 3] = 255;
        }
        return MLImage.CreateFromPixels(FashionMnist.ImageSize, FashionMnist.ImageSize, MLPixelFormat.Bgra32, bgra);
    }

    /// <inheritdoc />
    public override string Describe(int index) => $"Fashion-MNIST {_split} image {_indices[index]}";
}
