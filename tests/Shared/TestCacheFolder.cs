using Microsoft.VisualStudio.TestTools.UnitTesting;

namespace EfficientNetML.Testing;

/// <summary>
/// Points the library's cache (downloaded weights, and the ONNX models <c>Fit</c> exports) at a folder of the tests'
/// own when <c>EFFICIENTNETML_CACHE</c> is not set, so a plain <c>dotnet test</c> never fills the user's
/// <c>~/.cache/efficientnetml</c>. Child processes (the CLI tests) inherit it.
/// </summary>
[TestClass]
public sealed class TestCacheFolder
{
    [AssemblyInitialize]
    public static void UseTheTestsOwnCache(TestContext context)
    {
        _ = context;
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("EFFICIENTNETML_CACHE")))
            Environment.SetEnvironmentVariable("EFFICIENTNETML_CACHE", Path.Combine(Path.GetTempPath(), "efficientnetml-test-cache"));
    }
}
