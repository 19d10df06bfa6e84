using System.Text.Json;
using Microsoft.ML.EfficientNet.Weights;

namespace EfficientNetML.Testing;

/// <summary>
/// The parity fixtures made by scripts/make_parity_fixtures.py from Debian's torchvision (the reference implementation).
/// scripts/test.sh generates them before any test runs; a missing fixture is a failure, never a skip.
/// </summary>
internal static class Fixtures
{
    private static readonly Lazy<string> RootDirectory = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "EfficientNetML.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException($"No EfficientNetML.sln above {AppContext.BaseDirectory}.");
    });

    /// <summary>The repository root.</summary>
    public static string RepositoryRoot => RootDirectory.Value;

    /// <summary>Committed reference data (tests/fixtures).</summary>
    public static string Committed(string name) => Path.Combine(RepositoryRoot, "tests", "fixtures", name);

    /// <summary>A generated fixture file; fails with instructions when it is absent.</summary>
    public static string Generated(string name)
    {
        string path = Path.Combine(RepositoryRoot, "tests", "fixtures", "generated", name);
        if (!File.Exists(path))
            throw new InvalidOperationException($"Fixture {path} is missing: run `bash scripts/make-fixtures.sh` (scripts/test.sh does it).");
        return path;
    }

    /// <summary>The parity cases listed in the generated manifest.json.</summary>
    public static IReadOnlyList<ParityCase> Cases => LazyCases.Value;

    private static readonly Lazy<IReadOnlyList<ParityCase>> LazyCases = new(() =>
    {
        using var manifest = JsonDocument.Parse(File.ReadAllText(Generated("manifest.json")));
        return manifest.RootElement.GetProperty("cases").EnumerateArray().Select(c => new ParityCase(
            c.GetProperty("variant").GetString()!, c.GetProperty("format").GetString()!, c.GetProperty("weights").GetString()!,
            c.GetProperty("io").GetString()!, c.GetProperty("resolution").GetInt32())).ToList();
    });

    /// <summary>One parity case as MSTest dynamic data: variant, format, weights file, io file, resolution.</summary>
    public static IEnumerable<object[]> CaseData => Cases.Select(c => new object[] { c.Variant, c.Format, c.Weights, c.Io, c.Resolution });

    /// <summary>The published weights cases only (torchvision naming, one per variant).</summary>
    public static IEnumerable<object[]> TorchvisionCaseData => CaseData.Where(c => (string)c[1] == "torchvision");
}

/// <summary>A checkpoint and the reference input and outputs computed from it by torchvision.</summary>
internal sealed record ParityCase(string Variant, string Format, string Weights, string Io, int Resolution)
{
    /// <summary>Reads the reference input [N,3,R,R], logits [N,1000] and pooled features [N,head].</summary>
    public (WeightTensor Input, WeightTensor Logits, WeightTensor Features) ReadIo()
    {
        var io = SafeTensorsFile.Read(Fixtures.Generated(Io));
        return (io["input"], io["logits"], io["features"]);
    }
}
