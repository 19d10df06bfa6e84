using System.CommandLine;
using Microsoft.ML.EfficientNet.Data;

namespace EfficientNet.Cli.Arguments;

/// <summary>The unlabelled images of the scoring commands (predict, featurize): one file, or a folder searched recursively.</summary>
internal static class ImageArguments
{
    public static Option<string> Images() => new("--images")
    {
        Description = "An image file, or a folder searched recursively for .jpg, .jpeg, .png, .bmp, .gif and .webp files.",
        Required = true,
    };

    /// <summary>The file itself, or a folder's image files (recursive, ordinal order).</summary>
    public static List<string> List(string images)
    {
        if (File.Exists(images)) return [images];
        if (!Directory.Exists(images)) throw new FileNotFoundException($"Images '{images}' is neither a file nor a folder.", images);
        var files = Directory.EnumerateFiles(images, "*", SearchOption.AllDirectories)
            .Where(f => ImageFolder.ImageExtensions.Contains(Path.GetExtension(f))).Order(StringComparer.Ordinal).ToList();
        if (files.Count == 0)
            throw new ArgumentException($"Folder '{images}' has no image files ({string.Join(", ", ImageFolder.ImageExtensions.Order(StringComparer.Ordinal))}).");
        return files;
    }
}
