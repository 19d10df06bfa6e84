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

    /// <summary>The file itself, or a folder's image files (recursive, ordinal order; what the walk leaves out is said on standard error).</summary>
    public static List<string> List(string images)
    {
        if (File.Exists(images)) return [images];
        if (!Directory.Exists(images)) throw new FileNotFoundException($"Images '{images}' is neither a file nor a folder.", images);
        var folder = ImageFolder.OpenFlat(images);
        DataArguments.ReportSkipped(folder);
        // Paths as the user gave the folder, so that the output names them the way the user does.
        return folder.Rows.Select(r => Path.Combine(images, r.Path)).ToList();
    }
}
