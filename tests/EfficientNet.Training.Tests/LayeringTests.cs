using System.Text.RegularExpressions;

namespace EfficientNet.Training.Tests;

/// <summary>
/// Folders only look down. docs/ARCHITECTURE.md lists each library's folders from the bottom layer up; a file may use
/// (by a <c>using</c> or a qualified name) only namespaces of folders listed before its own. The order is read from the
/// document, so the picture and the code cannot drift apart.
/// </summary>
[TestClass]
public sealed partial class LayeringTests
{
    [TestMethod]
    [DataRow("src/Microsoft.ML.EfficientNet", "Microsoft.ML.EfficientNet")]
    [DataRow("src/EfficientNet.Training", "EfficientNet.Training")]
    public void NoFolderUsesOneAboveIt(string library, string rootNamespace)
    {
        var order = DocumentedOrder(library);
        Assert.IsTrue(order.Count >= 6, $"docs/ARCHITECTURE.md lists the folders of {library}: {string.Join(", ", order)}");
        string root = Path.Combine(Fixtures.RepositoryRoot, library);
        var upward = new List<string>();
        int files = 0, edges = 0;
        foreach (string file in Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(root, file);
            string folder = relative.Split(Path.DirectorySeparatorChar)[0];
            if (folder is "obj" or "bin" || folder == relative) continue; // catalogs at the root sit on top
            Assert.IsTrue(order.Contains(folder), $"folder {folder}/ of {library} is not in docs/ARCHITECTURE.md's table");
            files++;
            string text = File.ReadAllText(file);
            var used = NamespaceUse(rootNamespace).Matches(text).Select(m => m.Groups[1].Value).Where(order.Contains).Distinct();
            foreach (string target in used.Where(t => t != folder))
            {
                edges++;
                if (order.IndexOf(target) > order.IndexOf(folder)) upward.Add($"{relative} uses {target}/ (above {folder}/)");
            }
        }
        Assert.IsTrue(files > 20 && edges > 10, $"the sources were read: {files} files, {edges} edges between folders");
        Assert.AreEqual(0, upward.Count, string.Join("\n", upward));
    }

    /// <summary>The folder names of the table under "### `<paramref name="library"/>`", in order.</summary>
    private static List<string> DocumentedOrder(string library)
    {
        var lines = File.ReadAllLines(Path.Combine(Fixtures.RepositoryRoot, "docs", "ARCHITECTURE.md"));
        int start = Array.IndexOf(lines, $"### `{library}`");
        Assert.IsTrue(start >= 0, $"docs/ARCHITECTURE.md has a section for {library}");
        return lines.Skip(start + 1).TakeWhile(l => !l.StartsWith('#'))
            .Select(l => FolderRow().Match(l)).Where(m => m.Success).Select(m => m.Groups[1].Value).ToList();
    }

    private static Regex NamespaceUse(string rootNamespace) => new($@"\b{Regex.Escape(rootNamespace)}\.(\w+)\b");

    [GeneratedRegex(@"^\| `(\w+)/` \|")]
    private static partial Regex FolderRow();
}
