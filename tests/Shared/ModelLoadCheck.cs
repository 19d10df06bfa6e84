using System.Text.Json;

namespace EfficientNetML.Testing;

/// <summary>
/// Scores a saved ML.NET model in a separate process that references only ML.NET and ONNX Runtime
/// (tests/EfficientNet.ModelLoadCheck): proof that the model loads without this project's libraries.
/// </summary>
public static class ModelLoadCheck
{
    /// <summary>What the other process loaded and scored.</summary>
    /// <param name="Assemblies">Names of the assemblies loaded in it.</param>
    /// <param name="Values">Each row's output column: an array of numbers or strings, or a string.</param>
    public sealed record Result(IReadOnlyList<string> Assemblies, IReadOnlyList<JsonElement> Values)
    {
        /// <summary>The values as float vectors.</summary>
        public List<float[]> Vectors() => Values.Select(v => v.EnumerateArray().Select(x => x.GetSingle()).ToArray()).ToList();
    }

    /// <summary>Runs the check on <paramref name="model"/> for rows with the given <c>Path</c> values; asserts it succeeded.</summary>
    public static Result Run(string model, string imageFolder, string outputColumn, IEnumerable<string> paths)
    {
        var run = ProcessRunner.RunDotnet(ProcessRunner.BuiltAssembly(Path.Combine("tests", "EfficientNet.ModelLoadCheck"), "EfficientNet.ModelLoadCheck"),
            [model, imageFolder, outputColumn, .. paths]);
        Assert.AreEqual(0, run.ExitCode, run.Error);
        using var json = JsonDocument.Parse(run.Output);
        return new Result(
            json.RootElement.GetProperty("assemblies").EnumerateArray().Select(a => a.GetString()!).ToList(),
            json.RootElement.GetProperty("values").EnumerateArray().Select(v => v.Clone()).ToList());
    }
}
