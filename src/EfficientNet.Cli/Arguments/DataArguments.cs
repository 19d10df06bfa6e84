using System.CommandLine;
using System.Globalization;
using EfficientNet.Training.Training;
using EfficientNet.Cli.Output;
using Microsoft.ML.EfficientNet.Data;
using Microsoft.ML.EfficientNet.Preprocessing;

namespace EfficientNet.Cli.Arguments;

/// <summary>
/// How the commands name data: a folder with one sub-folder per class, or <c>fashion-mnist</c> /
/// <c>fashion-mnist-test</c> (Debian's dataset-fashion-mnist), optionally restricted to some classes and a number of
/// images per class. Each data flag is defined here once, for every command that takes it (train, compare, evaluate).
/// </summary>
internal static class DataArguments
{
    public const string FashionMnist = "fashion-mnist";
    public const string FashionMnistTest = "fashion-mnist-test";

    /// <summary>The labelled images a command trains, compares or evaluates on.</summary>
    public static Option<string> Data() => new("--data")
    {
        Description = $"Images: a folder with one sub-folder per class, {FashionMnist} or {FashionMnistTest}.",
        Required = true,
    };

    /// <summary>The validation images of train.</summary>
    public static Option<string?> Validation() => new("--validation")
    {
        Description = $"Validation images (a folder, or {FashionMnistTest}). Default: a seeded split of --data.",
    };

    public static Option<string> Classes() => new("--classes")
    {
        Description = "Fashion-MNIST only: the original labels to keep, comma-separated (for example 5,6,7,8,9); they become classes 0…k−1.",
    };

    public static Option<int?> PerClass() => new Option<int?>("--per-class") { Description = "Keep only the first N images of each class." }.Within(1);

    /// <summary>The EXIF flag of every command that decodes image files (train, predict, featurize).</summary>
    public static Option<bool> ApplyExifOrientation() => new("--apply-exif-orientation")
    {
        Description = "Turn image files upright by their EXIF orientation before cropping (off: used as stored, as ML.NET's LoadImages does; a warning names the first rotated file).",
    };

    /// <summary>The pixel limit of image files (train).</summary>
    public static Option<long> MaxImagePixels() => new Option<long>("--max-image-pixels")
    {
        DefaultValueFactory = _ => ImageDecoder.DefaultMaxPixels,
        Description = "Largest width × height an image file may claim in its header; a larger one is skipped, with a warning, before it is decoded.",
    }.Within(1);

    /// <summary>
    /// Opens images that need no labels (calibration): Fashion-MNIST as <see cref="Open"/> does, or a folder that is flat
    /// or has one sub-folder per class (<see cref="FileImageSet.FromFolderOrFlat"/>).
    /// </summary>
    public static LabeledImageSet OpenUnlabelled(string data) =>
        IsFashionMnist(data) ? Open(data, null, null) : FromListing(ImageFolder.OpenOrFlat(data));

    /// <summary>The images of a folder listing, after saying on standard error what the listing left out and why.</summary>
    public static FileImageSet FromListing(ImageFolder folder)
    {
        ReportSkipped(folder);
        return FileImageSet.FromFolder(folder);
    }

    /// <summary>Says, once each, what a folder listing left out (link cycles, FIFOs, output folders inside the data).</summary>
    public static void ReportSkipped(ImageFolder folder)
    {
        foreach (string skipped in folder.Skipped) Terminal.Error("note", skipped);
    }

    private static bool IsFashionMnist(string data) => data.Trim().ToLowerInvariant() is FashionMnist or FashionMnistTest;

    /// <summary>Opens a data argument as a labelled image set.</summary>
    /// <exception cref="ArgumentException">A flag's value is out of range or does not parse; the message names the flag.</exception>
    public static LabeledImageSet Open(string data, string? classes, int? perClass)
    {
        LabeledImageSet set;
        string key = data.Trim().ToLowerInvariant();
        if (IsFashionMnist(data))
        {
            set = new FashionMnistImageSet(train: key == FashionMnist, ParseClasses(classes));
        }
        else
        {
            if (!string.IsNullOrWhiteSpace(classes)) throw new ArgumentException("--classes applies to fashion-mnist only; an image folder's classes are its sub-folders.");
            if (!Directory.Exists(data)) throw new DirectoryNotFoundException($"Data folder '{data}' does not exist (give a folder with one sub-folder per class, or fashion-mnist).");
            set = FromListing(ImageFolder.Open(data));
        }
        return perClass is { } n ? set.TakePerClass(n) : set;
    }

    /// <summary>
    /// The data flags of a run as <c>training.json</c> records them (<see cref="TrainingDataSource"/>): a folder made
    /// absolute, so that the record still names it from another working directory. Call after <see cref="Open"/>, which
    /// checks the flags.
    /// </summary>
    public static TrainingDataSource Source(string data, string? classes, int? perClass) =>
        IsFashionMnist(data) ? new(data.Trim().ToLowerInvariant(), ParseClasses(classes), perClass) : new(Path.GetFullPath(data), null, perClass);

    private static int[]? ParseClasses(string? classes)
    {
        if (string.IsNullOrWhiteSpace(classes)) return null;
        var labels = new List<int>();
        foreach (string label in classes.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(label, NumberStyles.None, CultureInfo.InvariantCulture, out int value))
                throw new ArgumentException($"--classes '{classes}' is not a comma-separated list of Fashion-MNIST labels (for example 5,6,7,8,9); '{label}' is not a label.");
            labels.Add(value);
        }
        return [.. labels];
    }
}
