using System.Reflection;
using System.Runtime.CompilerServices;
using Microsoft.ML.EfficientNet.Scoring;
using Microsoft.ML.EfficientNet.Runtime;

namespace EfficientNet.Cli.Tests;

/// <summary>
/// The benchmark harness lives in the command line (src/EfficientNet.Cli/Bench), not in the scoring assembly that apps
/// ship: <c>Microsoft.ML.EfficientNet</c> holds no benchmarking type and no public member that exists for bench (the
/// session, its profiling, the row-output edit and the export cache are internal). Like ML.NET's assemblies, which
/// share their internals with their command line and performance tests, it shares its internals with a fixed list of
/// friends and no other.
/// </summary>
[TestClass]
public sealed class BenchBoundaryTests
{
    private static readonly Assembly Library = typeof(EfficientNetFeaturizerTransformer).Assembly;

    [TestMethod]
    public void TheScoringAssemblyHoldsNoBenchmarkingType()
    {
        Assert.AreEqual("Microsoft.ML.EfficientNet", Library.GetName().Name);
        var types = Library.GetTypes();
        Assert.IsTrue(types.Length > 50, $"the library's types were read: {types.Length}");
        var benchmarking = types.Where(t => t.Namespace?.Split('.').Contains("Benchmarking") == true).Select(t => t.FullName).ToList();
        Assert.AreEqual(0, benchmarking.Count, string.Join(", ", benchmarking));
    }

    [TestMethod]
    public void TheScoringAssemblyExportsNothingForBench()
    {
        var session = Library.GetTypes().Single(t => t.Name == "EfficientNetOnnxSession");
        Assert.IsFalse(session.IsVisible, "the ONNX Runtime session owner is internal, as ML.NET's OnnxModel");
        foreach (var (type, member) in new[] { (typeof(Microsoft.ML.EfficientNet.Onnx.EfficientNetOnnxExporter), "WithRowOutput"), (typeof(EfficientNetFeaturizerEstimator), "ClearExportCache") })
        {
            var methods = type.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic).Where(m => m.Name == member).ToList();
            Assert.AreEqual(1, methods.Count, $"{type.Name}.{member} exists");
            Assert.IsFalse(methods[0].IsPublic, $"{type.Name}.{member} is public");
        }
    }

    [TestMethod]
    public void TheScoringAssemblySharesItsInternalsWithItsFriendsOnly()
    {
        var friends = Library.GetCustomAttributes<InternalsVisibleToAttribute>().Select(a => a.AssemblyName.Split(',')[0].Trim()).Order(StringComparer.Ordinal).ToList();
        string[] expected =
        [
            "efficientnet", "EfficientNet.Benchmarks", "EfficientNet.Cli.Tests", "EfficientNet.Packaging.Tests", "EfficientNet.Training",
            "EfficientNet.Training.Tests", "EfficientNet.WebService.Tests", "Microsoft.ML.EfficientNet.Gpu.Tests", "Microsoft.ML.EfficientNet.Tests",
        ];
        CollectionAssert.AreEqual(expected.Order(StringComparer.Ordinal).ToList(), friends, string.Join(", ", friends));
    }
}
