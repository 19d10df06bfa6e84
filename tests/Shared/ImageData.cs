using Microsoft.ML;
using Microsoft.ML.Data;

namespace EfficientNetML.Testing;

/// <summary>The generated test images as an ML.NET data view of (Path, Label).</summary>
public static class ImageData
{
    public sealed class Row
    {
        public string Path { get; set; } = "";
        public string Label { get; set; } = "";
    }

    public static string Folder => System.IO.Path.GetDirectoryName(Fixtures.Generated("images/round/round_00.jpg"))!.Replace("/round", "");

    /// <summary>Every good image (two classes, JPEG and PNG) in a stable order, paths relative to <see cref="Folder"/>.</summary>
    public static Row[] GoodRows() => Directory.GetFiles(Folder, "*.*", SearchOption.AllDirectories)
        .Where(p => !p.Contains($"{System.IO.Path.DirectorySeparatorChar}bad{System.IO.Path.DirectorySeparatorChar}", StringComparison.Ordinal))
        .Order(StringComparer.Ordinal)
        .Select(p => new Row { Path = System.IO.Path.GetRelativePath(Folder, p), Label = System.IO.Path.GetFileName(System.IO.Path.GetDirectoryName(p))! })
        .ToArray();

    public static Row[] BadRows() => Directory.GetFiles(System.IO.Path.Combine(Folder, "bad")).Order(StringComparer.Ordinal)
        .Select(p => new Row { Path = System.IO.Path.GetRelativePath(Folder, p), Label = "bad" }).ToArray();

    public static IDataView Load(MLContext ml, IEnumerable<Row> rows) => ml.Data.LoadFromEnumerable(rows.ToList());

    /// <summary>Reads a float vector column into arrays, one per row.</summary>
    public static List<float[]> Column(IDataView data, string name) =>
        data.GetColumn<VBuffer<float>>(data.Schema[name]).Select(v => v.DenseValues().ToArray()).ToList();
}
