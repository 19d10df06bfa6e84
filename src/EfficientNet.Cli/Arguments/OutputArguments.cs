using EfficientNet.Cli.Output;
using Microsoft.ML.EfficientNet.IO;

namespace EfficientNet.Cli.Arguments;

/// <summary>
/// Where the commands write: the format an output file's extension chooses, and the checks every output option passes
/// before any work, so that no command replaces its own input or a file it did not write, and its output folders are
/// never read back as data.
/// </summary>
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

    /// <summary>
    /// Refuses an output file that is one of the command's inputs (the same path, or another path to the same file through
    /// a link, <c>..</c> or a hard link), which writing would destroy.
    /// </summary>
    /// <param name="output">The output file.</param>
    /// <param name="option">Its flag (<c>--output</c>).</param>
    /// <param name="inputs">The inputs, each with its flag; null paths (an option not given) are ignored.</param>
    /// <exception cref="ArgumentException">The output is an input; the message names both flags.</exception>
    public static void RefuseInput(string output, string option, params (string? Path, string Option)[] inputs)
    {
        foreach (var (path, flag) in inputs)
        {
            if (path is null) continue;
            if (FileStat.SameFile(output, path))
                throw new ArgumentException($"{option} '{output}' is the same file as {flag} '{path}'; writing it would destroy the input. Choose another {option}.");
        }
    }

    /// <summary>
    /// Checks the output folder <paramref name="folder"/> of a command that owns all of it (a run, a comparison) before the
    /// data is listed, and marks it when it exists already (an earlier run's), so that its files are never read as data,
    /// even when it lies inside <c>--data</c>. A new folder is created by the run and marked when the run returns
    /// (<see cref="MarkOwned"/>); until then the folder walk knows it by what a run or comparison writes.
    /// </summary>
    /// <exception cref="ArgumentException">The folder is the data folder itself (or a folder holding it).</exception>
    public static void OwnedFolder(string folder, string option, string? data, string dataOption)
    {
        if (data is not null && Directory.Exists(data))
        {
            string full = Path.GetFullPath(folder).TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
            string dataFull = Path.GetFullPath(data).TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
            if (FileStat.SameFile(folder, data) || dataFull.StartsWith(full, StringComparison.Ordinal))
                throw new ArgumentException($"{option} '{folder}' holds {dataOption} '{data}'; the output would be mixed with the images. Choose a folder beside or inside it.");
        }
        if (Directory.Exists(folder)) OutputMarker.MarkFolder(folder);
    }

    /// <summary>Marks the output folder of a run or comparison that has returned as the command's own.</summary>
    public static void MarkOwned(string folder)
    {
        if (Directory.Exists(folder)) OutputMarker.MarkFolder(folder);
    }

    /// <summary>
    /// Files a command writes into a folder it may share with the user's files (<c>predict --explain</c>): a name is
    /// taken only when no file has it, or when the file there is one this tool wrote before (its marker lists it); a
    /// user's file is never replaced, the output gets the next free name, and <see cref="Claim"/> says so.
    /// </summary>
    public sealed class SharedFolder
    {
        private readonly HashSet<string> _written, _taken = new(StringComparer.OrdinalIgnoreCase);
        private readonly string _option;

        public SharedFolder(string folder, string option)
        {
            Directory.CreateDirectory(folder);
            Path = folder;
            _option = option;
            _written = OutputMarker.WrittenFiles(folder);
        }

        public string Path { get; }

        /// <summary>
        /// The path to write <paramref name="stem"/><paramref name="suffix"/> at: that name, else <c>stem-2</c>, <c>stem-3</c> …,
        /// skipping names taken in this run and files this tool did not write. Recorded in the folder's marker.
        /// </summary>
        public string Claim(string stem, string suffix)
        {
            string first = stem + suffix, name = first;
            for (int i = 2; !_taken.Add(name) || IsUsers(name); i++) name = $"{stem}-{i}{suffix}";
            if (name != first && IsUsers(first))
                Terminal.Error("note", $"{_option}: '{System.IO.Path.Combine(Path, first)}' is not a file efficientnet wrote; it is kept, and this map is written to '{System.IO.Path.Combine(Path, name)}'.");
            OutputMarker.RecordFile(Path, name);
            return System.IO.Path.Combine(Path, name);
        }

        private bool IsUsers(string name) => !_written.Contains(name) && System.IO.Path.Exists(System.IO.Path.Combine(Path, name));
    }
}
