using Microsoft.ML.EfficientNet.IO;

namespace Microsoft.ML.EfficientNet.Data;

/// <summary>
/// The one walk over an image folder (class folders, flat folders, the scoring commands' <c>--images</c>). It follows a
/// link to a folder at most once: a folder reached a second time (a link back to an ancestor, or a second way into a
/// folder already listed) is left out and said once, so a cycle neither runs forever nor counts images twice or under
/// another class. It lists regular files only (a FIFO, socket or device named <c>.png</c> is left out and said), skips
/// folders that are EfficientNetML's own outputs (<see cref="IsOutputFolder"/>) and files its marker lists as outputs.
/// </summary>
internal sealed class FolderWalker
{
    private readonly HashSet<string> _visited = new(StringComparer.Ordinal);
    private readonly List<string> _skipped = [];

    /// <summary>What the walk left out, one sentence each (naming the path and why).</summary>
    public IReadOnlyList<string> Skipped => _skipped;

    /// <summary>Marks the folder the user named as walked (it is read even when it is an output folder: the user chose it).</summary>
    public void EnterRoot(string folder) => _visited.Add(FileStat.Of(folder).Identity);

    /// <summary>
    /// Marks <paramref name="folder"/> as walked; false (and said) when it was walked already, or when it is an output
    /// folder of EfficientNetML.
    /// </summary>
    public bool Enter(string folder)
    {
        var stat = FileStat.Of(folder);
        if (stat.Kind != FileKind.Directory) return false;
        if (!_visited.Add(stat.Identity))
        {
            string target = new DirectoryInfo(folder).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? folder;
            _skipped.Add($"'{folder}' leads to '{target}', a folder already listed (a link cycle or a second way in); it was not followed.");
            return false;
        }
        if (IsOutputFolder(folder))
        {
            _skipped.Add($"'{folder}' holds efficientnet's own output (a run, a comparison or class activation maps); its files are not read as data.");
            return false;
        }
        return true;
    }

    /// <summary>The sub-folders of <paramref name="folder"/> (links to folders included), in ordinal order; nothing is entered.</summary>
    public static IEnumerable<string> SubFolders(string folder) =>
        Entries(folder).Where(e => FileStat.Of(e).Kind == FileKind.Directory).Order(StringComparer.Ordinal);

    /// <summary>
    /// The image files under <paramref name="folder"/> (already <see cref="Enter">entered</see>), recursively, in ordinal
    /// order; sub-folders are entered as they are met.
    /// </summary>
    public List<string> ImageFiles(string folder)
    {
        var files = new List<string>();
        var written = OutputMarker.WrittenFiles(folder);
        foreach (string entry in Entries(folder).Order(StringComparer.Ordinal))
        {
            var stat = FileStat.Of(entry);
            if (stat.Kind == FileKind.Directory)
            {
                if (Enter(entry)) files.AddRange(ImageFiles(entry));
                continue;
            }
            if (!ImageFolder.ImageExtensions.Contains(Path.GetExtension(entry)) || written.Contains(Path.GetFileName(entry))) continue;
            if (stat.Kind == FileKind.Regular) files.Add(entry);
            else if (stat.Kind == FileKind.Special) _skipped.Add($"'{entry}' is not a regular file (a FIFO, socket or device); it was not opened.");
            else _skipped.Add($"'{entry}' is a link to nothing; it was left out.");
        }
        return files;
    }

    /// <summary>
    /// Whether <paramref name="folder"/> is an output of EfficientNetML: it holds the output marker claiming it, a run's
    /// <c>training.json</c> or <c>checkpoints/latest</c>, or a comparison's <c>results.json</c> with <c>report.html</c>.
    /// </summary>
    public static bool IsOutputFolder(string folder) =>
        OutputMarker.IsOutputFolder(folder)
        || File.Exists(Path.Combine(folder, RunFolder.SummaryFileName))
        || File.Exists(Path.Combine(folder, RunFolder.CheckpointsFolderName, RunFolder.LatestFileName))
        || (File.Exists(Path.Combine(folder, "results.json")) && File.Exists(Path.Combine(folder, "report.html")));

    private static IEnumerable<string> Entries(string folder) =>
        Directory.EnumerateFileSystemEntries(folder, "*", new EnumerationOptions { RecurseSubdirectories = false, AttributesToSkip = 0, IgnoreInaccessible = true });
}
