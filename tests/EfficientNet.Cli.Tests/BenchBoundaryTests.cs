using System.Reflection;
using System.Runtime.CompilerServices;
using Microsoft.ML.EfficientNet.Scoring;

namespace EfficientNet.Cli.Tests;

/// <summary>
/// The benchmark harness lives in the command line (src/EfficientNet.Cli/Bench), not in the scoring assembly that apps
/// ship: <c>Microsoft.ML.EfficientNet</c> holds no benchmarking type and opens its internals to neither the CLI nor the
/// BenchmarkDotNet project.
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
    public void TheScoringAssemblyOpensNoInternalsToBench()
    {
        var friends = Library.GetCustomAttributes<InternalsVisibleToAttribute>().Select(a => a.AssemblyName.Split(',')[0].Trim()).ToList();
        CollectionAssert.Contains(friends, "Microsoft.ML.EfficientNet.Tests", "the attribute is read: the library's own tests are a friend");
        foreach (string bench in (string[])["efficientnet", "EfficientNet.Benchmarks"])
            CollectionAssert.DoesNotContain(friends, bench, $"InternalsVisibleTo({bench}); friends: {string.Join(", ", friends)}");
    }
}
