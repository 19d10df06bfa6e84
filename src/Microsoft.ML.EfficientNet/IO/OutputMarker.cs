namespace Microsoft.ML.EfficientNet.IO;

/// <summary>
/// The file that marks what EfficientNetML wrote into a folder, <c>.efficientnet-output</c>, so that its outputs are
/// never read back as data (a run or comparison folder inside <c>--data</c>, class activation maps beside the images)
/// and a file it did not write is never replaced. One line <c>*</c>: the whole folder is an output (a run folder, a
/// comparison). Other lines: names of files in the folder that were written as outputs.
/// </summary>
internal static class OutputMarker
{
    /// <summary>The marker's file name.</summary>
    public const string FileName = ".efficientnet-output";

    private const string WholeFolder = "*";

    /// <summary>Marks <paramref name="folder"/> (created if missing) as an output folder as a whole.</summary>
    public static void MarkFolder(string folder)
    {
        Directory.CreateDirectory(folder);
        string marker = Path.Combine(folder, FileName);
        if (!File.Exists(marker) || !File.ReadLines(marker).Contains(WholeFolder)) File.AppendAllText(marker, WholeFolder + "\n");
    }

    /// <summary>Records that the file <paramref name="name"/> in <paramref name="folder"/> was written as an output.</summary>
    public static void RecordFile(string folder, string name)
    {
        if (!WrittenFiles(folder).Contains(name)) File.AppendAllText(Path.Combine(folder, FileName), name + "\n");
    }

    /// <summary>Whether the marker in <paramref name="folder"/> claims the whole folder.</summary>
    public static bool IsOutputFolder(string folder) => Lines(folder).Contains(WholeFolder);

    /// <summary>The names of the files the marker in <paramref name="folder"/> lists (none without a marker).</summary>
    public static HashSet<string> WrittenFiles(string folder) => [.. Lines(folder).Where(l => l != WholeFolder)];

    private static IEnumerable<string> Lines(string folder)
    {
        string marker = Path.Combine(folder, FileName);
        try
        {
            return FileStat.Of(marker).Kind == FileKind.Regular ? File.ReadAllLines(marker).Where(l => l.Length > 0).ToList() : [];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }
}
