namespace EfficientNet.Cli.Arguments;

/// <summary>Output files whose extension chooses their format (predict: .csv or .json; featurize: .csv or .parquet).</summary>
internal static class OutputArguments
{
    /// <summary>The lower-case extension of <paramref name="path"/> when it is one of <paramref name="allowed"/>; else a one-line error.</summary>
    public static string Format(string path, string option, params string[] allowed)
    {
        string extension = Path.GetExtension(path).ToLowerInvariant();
        if (!allowed.Contains(extension))
            throw new ArgumentException($"{option} '{path}' must end in {string.Join(" or ", allowed)}; the extension chooses the format.");
        return extension;
    }
}
