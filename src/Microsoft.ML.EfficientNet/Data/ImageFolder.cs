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

    private ImageFolder(string root, IReadOnlyList<string> classes, IReadOnlyList<ImageFolderRow> rows, IReadOnlyList<string> skipped)
    {
        Root = root;
        Classes = classes;
        Rows = rows;
        Skipped = skipped;
    }

    /// <summary>Absolute path of the root folder.</summary>
    public string Root { get; }

    /// <summary>Class names in ordinal order; a class's index is its label number.</summary>
    public IReadOnlyList<string> Classes { get; }

    /// <summary>Every image with its class.</summary>
    public IReadOnlyList<ImageFolderRow> Rows { get; }

    /// <summary>
    /// What the listing left out, one sentence each naming the path and why: a link to a folder already listed (a
    /// cycle is followed once), a file that is not a regular file (a FIFO named <c>.png</c>), a folder that holds
    /// EfficientNetML's own output (a run or comparison folder inside the data, class activation maps).
    /// </summary>
    internal IReadOnlyList<string> Skipped { get; }

    /// <summary>Lists a folder.</summary>
    /// <param name="root">The folder with one sub-folder per class.</param>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="InvalidDataException">It has fewer than two class folders with images, or a class folder's name
    /// holds a control character (a line break would make it two lines of <c>labels.txt</c>).</exception>
    public static ImageFolder Open(string root)
    {
        var folder = TryOpenClasses(root);
        if (folder.Classes.Count < 2)
            throw new InvalidDataException($"Image folder '{folder.Root}' needs at least two sub-folders with images (one per class); found {folder.Classes.Count}.");
        return folder;
    }

    /// <summary>
    /// Lists every image file under a folder, recursively, as one class, <see cref="FileImageSet.UnlabelledClass"/>
    /// (images that need no labels: calibration, prediction).
    /// </summary>
    /// <param name="root">The folder.</param>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="InvalidDataException">It holds no image files.</exception>
    internal static ImageFolder OpenFlat(string root)
    {
        root = FullExistingFolder(root);
        var walker = new FolderWalker();
        walker.EnterRoot(root);
        var files = walker.ImageFiles(root);
        if (files.Count == 0)
            throw new InvalidDataException($"Image folder '{root}' holds no image files ({string.Join(", ", ImageExtensions.Order(StringComparer.Ordinal))}).");
        return new ImageFolder(root, [FileImageSet.UnlabelledClass],
            files.Select(f => new ImageFolderRow { Path = System.IO.Path.GetRelativePath(root, f), Label = FileImageSet.UnlabelledClass }).ToList(), walker.Skipped);
    }

    /// <summary>
    /// <see cref="Open"/> when the folder has at least two class folders with images, else <see cref="OpenFlat"/>: images
    /// that need no labels may come either way.
    /// </summary>
    /// <param name="root">The folder.</param>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="InvalidDataException">It holds no image files.</exception>
    internal static ImageFolder OpenOrFlat(string root)
    {
        var folder = TryOpenClasses(root);
        return folder.Classes.Count >= 2 ? folder : OpenFlat(root);
    }

    private static string FullExistingFolder(string root)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        root = System.IO.Path.GetFullPath(root);
        if (!Directory.Exists(root)) throw new DirectoryNotFoundException($"Image folder '{root}' does not exist.");
        return root;
    }

    private static ImageFolder TryOpenClasses(string root)
    {
        root = FullExistingFolder(root);
        var walker = new FolderWalker();
        walker.EnterRoot(root);
        // Every class folder is entered before any is walked, so a link from one class into another is not followed.
        var classFolders = FolderWalker.SubFolders(root).Where(walker.Enter).ToList();
        var rows = new List<ImageFolderRow>();
        var classes = new List<string>();
        foreach (string folder in classFolders)
        {
            var files = walker.ImageFiles(folder);
            if (files.Count == 0) continue;
            string name = System.IO.Path.GetFileName(folder);
            if (name.Any(char.IsControl))
                throw new InvalidDataException($"Class folder '{folder}' has a control character in its name ({string.Join(", ", name.Where(char.IsControl).Distinct().Select(c => $"U+{(int)c:X4}"))}); a class name must fit on one line. Rename the folder.");
            classes.Add(name);
            rows.AddRange(files.Select(f => new ImageFolderRow { Path = System.IO.Path.GetRelativePath(root, f), Label = name }));
        }
        return new ImageFolder(root, classes, rows, walker.Skipped);
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
