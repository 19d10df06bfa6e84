namespace Microsoft.ML.EfficientNet.Data;

/// <summary>One labelled image of an <see cref="ImageFolder"/>.</summary>
public sealed class ImageFolderRow
{
    /// <summary>Path of the image file, relative to the folder root.</summary>
    public string Path { get; set; } = "";

    /// <summary>Class name: the name of the sub-folder holding the image.</summary>
    public string Label { get; set; } = "";
}

/// <summary>
/// An image-classification data set laid out as one sub-folder per class (torchvision's <c>ImageFolder</c>):
/// <c>root/cat/1.jpg</c>, <c>root/dog/7.png</c> …. Classes are sorted by ordinal name, files likewise, so the listing
/// is the same on every machine.
/// </summary>
public sealed class ImageFolder
{
    /// <summary>Extensions treated as images (case-insensitive).</summary>
    public static IReadOnlySet<string> ImageExtensions { get; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
        { ".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp" };

    private ImageFolder(string root, IReadOnlyList<string> classes, IReadOnlyList<ImageFolderRow> rows)
    {
        Root = root;
        Classes = classes;
        Rows = rows;
    }

    /// <summary>Absolute path of the root folder.</summary>
    public string Root { get; }

    /// <summary>Class names in ordinal order; a class's index is its label number.</summary>
    public IReadOnlyList<string> Classes { get; }

    /// <summary>Every image with its class.</summary>
    public IReadOnlyList<ImageFolderRow> Rows { get; }

    /// <summary>Lists a folder.</summary>
    /// <param name="root">The folder with one sub-folder per class.</param>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="InvalidDataException">It has fewer than two class folders with images.</exception>
    public static ImageFolder Open(string root)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        root = System.IO.Path.GetFullPath(root);
        if (!Directory.Exists(root)) throw new DirectoryNotFoundException($"Image folder '{root}' does not exist.");
        var rows = new List<ImageFolderRow>();
        var classes = new List<string>();
        foreach (string folder in Directory.GetDirectories(root).Order(StringComparer.Ordinal))
        {
            var files = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
                .Where(f => ImageExtensions.Contains(System.IO.Path.GetExtension(f))).Order(StringComparer.Ordinal).ToList();
            if (files.Count == 0) continue;
            string name = System.IO.Path.GetFileName(folder);
            classes.Add(name);
            rows.AddRange(files.Select(f => new ImageFolderRow { Path = System.IO.Path.GetRelativePath(root, f), Label = name }));
        }
        if (classes.Count < 2)
            throw new InvalidDataException($"Image folder '{root}' needs at least two sub-folders with images (one per class); found {classes.Count}.");
        return new ImageFolder(root, classes, rows);
    }

    /// <summary>
    /// A seeded, stratified split: within each class, a fraction of the files (at least one when the class has two or
    /// more) goes to validation.
    /// </summary>
    /// <param name="validationFraction">Share of each class held out, in [0, 1).</param>
    /// <param name="seed">Shuffle seed; the same seed gives the same split.</param>
    public (IReadOnlyList<ImageFolderRow> Train, IReadOnlyList<ImageFolderRow> Validation) Split(double validationFraction, int seed)
    {
        // Rows are listed class by class in the order of Classes, so label indices ascend in order of first appearance:
        // the shared split then draws in the same order as this method always has.
        var index = Classes.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => p.i, StringComparer.Ordinal);
        var (train, validation) = StratifiedSplit.Split(Rows.Select(r => index[r.Label]).ToArray(), validationFraction, seed);
        return (train.Select(i => Rows[i]).ToList(), validation.Select(i => Rows[i]).ToList());
    }
}
