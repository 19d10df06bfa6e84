using System.Text;
using Microsoft.ML.EfficientNet.IO;

namespace EfficientNet.Cli.Bench.Reporting;

/// <summary>
/// The section of a markdown file that <c>efficientnet bench --output</c> owns: the lines between <see cref="BeginMarker"/>
/// and <see cref="EndMarker"/>, replaced on every run, so the prose around it stays as written.
/// </summary>
internal static class BenchSection
{
    /// <summary>Starts the section <c>--output</c> writes or replaces.</summary>
    public const string BeginMarker = "<!-- bench:begin -->";

    /// <summary>Ends the section <c>--output</c> writes or replaces.</summary>
    public const string EndMarker = "<!-- bench:end -->";

    /// <summary>Where the first line of <paramref name="text"/> from <paramref name="from"/> on that is exactly <paramref name="marker"/> starts, or -1.</summary>
    private static int MarkerLine(string text, string marker, int from)
    {
        for (int at = text.IndexOf(marker, from, StringComparison.Ordinal); at >= 0; at = text.IndexOf(marker, at + 1, StringComparison.Ordinal))
        {
            bool lineStart = at == 0 || text[at - 1] == '\n';
            int after = at + marker.Length;
            bool lineEnd = after == text.Length || text[after] == '\n' || text[after] == '\r';
            if (lineStart && lineEnd) return at;
        }
        return -1;
    }

    /// <summary>Writes <paramref name="section"/> between the markers of <paramref name="path"/>, replacing what was there, or appends it.</summary>
    public static void Write(string path, string section)
    {
        string text = File.Exists(path) ? File.ReadAllText(path) : "";
        string block = $"{BeginMarker}\n{section.TrimEnd()}\n{EndMarker}";
        // Only markers on lines of their own count, so prose that quotes them is left alone.
        int begin = MarkerLine(text, BeginMarker, 0), end = begin < 0 ? -1 : MarkerLine(text, EndMarker, begin);
        text = begin >= 0 && end > begin
            ? text[..begin] + block + text[(end + EndMarker.Length)..]
            : (text.Length == 0 ? "" : text.TrimEnd() + "\n\n") + block + "\n";
        AtomicFile.WriteAllBytes(path, Encoding.UTF8.GetBytes(text));
    }
}
