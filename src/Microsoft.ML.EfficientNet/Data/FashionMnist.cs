using SkiaSharp;

namespace Microsoft.ML.EfficientNet.Data;

/// <summary>
/// Fashion-MNIST (Xiao et al. 2017): 70,000 grayscale 28×28 images of 10 clothing classes, 60,000 for training and
/// 10,000 for testing, read from the gzip'd IDX files (Debian's <c>dataset-fashion-mnist</c> installs them in
/// <see cref="DefaultDirectory"/>).
/// </summary>
public sealed class FashionMnist
{
    /// <summary>Where Debian's <c>dataset-fashion-mnist</c> package puts the files.</summary>
    public const string DefaultDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>Side of every image, in pixels.</summary>
    public const int ImageSize = 28;

    /// <summary>The class names, in label order 0–9.</summary>
    public static IReadOnlyList<string> ClassNames { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    private FashionMnist(byte[] pixels, byte[] labels)
    {
        Pixels = pixels;
        Labels = labels;
    }

    /// <summary>All images, 784 bytes each, row-major, 0 = background.</summary>
    public byte[] Pixels { get; }

    /// <summary>The label 0–9 of each image.</summary>
    public byte[] Labels { get; }

    /// <summary>Number of images.</summary>
    public int Count => Labels.Length;

    /// <summary>The 784 pixels of image <paramref name="index"/>.</summary>
    /// <param name="index">Zero-based image index.</param>
    public ReadOnlySpan<byte> Image(int index) => Pixels.AsSpan(index * ImageSize * ImageSize, ImageSize * ImageSize);

    /// <summary>Reads the training (60,000) or test (10,000) split.</summary>
    /// <param name="train">True for the training split.</param>
    /// <param name="directory">Folder of the four <c>.gz</c> files; default <see cref="DefaultDirectory"/>.</param>
    /// <exception cref="FileNotFoundException">The files are missing; the message says how to install them.</exception>
    public static FashionMnist Load(bool train, string? directory = null)
    {
        directory ??= DefaultDirectory;
        string prefix = train ? "train" : "t10k";
        string images = Path.Combine(directory, $"{prefix}-images-idx3-ubyte.gz"), labels = Path.Combine(directory, $"{prefix}-labels-idx1-ubyte.gz");
        foreach (string file in (string[])[images, labels])
        {
            if (!File.Exists(file))
                throw new FileNotFoundException($"Fashion-MNIST file '{file}' is missing. On Debian: apt-get install dataset-fashion-mnist.", file);
        }
        var (imageDims, pixels) = IdxFile.Read(images);
        var (labelDims, labelBytes) = IdxFile.Read(labels);
        if (imageDims is not [var n, ImageSize, ImageSize] || labelDims is not [var m] || n != m)
            throw new InvalidDataException($"Fashion-MNIST files disagree: images {string.Join('×', imageDims)}, labels {string.Join('×', labelDims)}.");
        return new FashionMnist(pixels, labelBytes);
    }

    /// <summary>
    /// Writes images as PNG files in one folder per class (an image folder dataset), for example to try the featurizer
    /// or the trainer on real data. Folder names are the class names with '/' replaced.
    /// </summary>
    /// <param name="directory">Target folder.</param>
    /// <param name="perClass">Images per class, the first ones of each class in file order.</param>
    /// <param name="classes">Which labels to write; default all ten.</param>
    /// <returns>The number of files written.</returns>
    public int WriteImageFolder(string directory, int perClass, IEnumerable<int>? classes = null)
    {
        var wanted = (classes ?? Enumerable.Range(0, 10)).ToHashSet();
        var written = new int[10];
        int total = 0;
        using var bitmap = new SKBitmap(new SKImageInfo(ImageSize, ImageSize, SKColorType.Gray8, SKAlphaType.Opaque));
        for (int i = 0; i < Count; i++)
        {
            int label = Labels[i];
            if (!wanted.Contains(label) || written[label] >= perClass) continue;
            string folder = Path.Combine(directory, FolderName(label));
            Directory.CreateDirectory(folder);
            System.Runtime.InteropServices.Marshal.Copy(Pixels, i * ImageSize * ImageSize, bitmap.GetPixels(), ImageSize * ImageSize);
            using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
            File.WriteAllBytes(Path.Combine(folder, $"{i:D5}.png"), data.ToArray());
            written[label]++;
            total++;
        }
        return total;
    }

    /// <summary>A file-system-safe folder name for a label: <c>T-shirt-top</c>, <c>Ankle boot</c> ….</summary>
    /// <param name="label">0–9.</param>
    public static string FolderName(int label) => ClassNames[label].Replace('/', '-');
}
