using System.CommandLine;
using System.Globalization;
using Microsoft.ML.EfficientNet.Data;
using Microsoft.ML.EfficientNet.Preprocessing;

namespace EfficientNet.Cli.Commands;

/// <summary>
/// How the commands name data: a folder with one sub-folder per class, or <c>fashion-mnist</c> /
/// <c>fashion-mnist-test</c> (Debian's dataset-fashion-mnist), optionally restricted to some classes and a number of
/// images per class.
/// </summary>
internal static class DataArguments
{
    public const string FashionMnist = "fashion-mnist";
    public const string FashionMnistTest = "fashion-mnist-test";

    public static Option<string> Classes() => new("--classes")
    {
        Description = "Fashion-MNIST only: the original labels to keep, comma-separated (for example 5,6,7,8,9); they become classes 0…k−1.",
    };

    public static Option<int?> PerClass() => new("--per-class") { Description = "Keep only the first N images of each class." };

    /// <summary>The EXIF flag of every command that decodes image files (train, predict, featurize).</summary>
    public static Option<bool> ApplyExifOrientation() => new("--apply-exif-orientation")
    {
        Description = "Turn image files upright by their EXIF orientation before cropping (off: used as stored, as ML.NET's LoadImages does; a warning names the first rotated file).",
    };

    /// <summary>The pixel limit of image files (train).</summary>
    public static Option<long> MaxImagePixels() => new("--max-image-pixels")
    {
        DefaultValueFactory = _ => ImageDecoder.DefaultMaxPixels,
        Description = "Largest width × height an image file may claim in its header; a larger one is skipped, with a warning, before it is decoded.",
    };

    /// <summary>
    /// Opens images that need no labels (calibration): Fashion-MNIST as <see cref="Open"/> does, or a folder that is flat
    /// or has one sub-folder per class (<see cref="FileImageSet.FromFolderOrFlat"/>).
    /// </summary>
    public static LabeledImageSet OpenUnlabelled(string data) =>
        IsFashionMnist(data) ? Open(data, null, null) : FileImageSet.FromFolderOrFlat(data);

    private static bool IsFashionMnist(string data) => data.Trim().ToLowerInvariant() is FashionMnist or FashionMnistTest;

    /// <summary>Opens a data argument as a labelled image set.</summary>
    public static LabeledImageSet Open(string data, string? classes, int? perClass)
    {
        LabeledImageSet set;
        string key = data.Trim().ToLowerInvariant();
        if (IsFashionMnist(data))
        {
            var kept = string.IsNullOrWhiteSpace(classes) ? null
                : classes.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(c => int.Parse(c, CultureInfo.InvariantCulture)).ToArray();
            set = new FashionMnistImageSet(train: key == FashionMnist, kept);
        }
        else
        {
            if (!string.IsNullOrWhiteSpace(classes)) throw new ArgumentException("--classes applies to fashion-mnist only; an image folder's classes are its sub-folders.");
            if (!Directory.Exists(data)) throw new DirectoryNotFoundException($"Data folder '{data}' does not exist (give a folder with one sub-folder per class, or fashion-mnist).");
            set = FileImageSet.FromFolder(data);
        }
        return perClass is { } n ? set.TakePerClass(n) : set;
    }
}
