using System.Diagnostics;
using System.Text.Json;
using System.Xml.Linq;

namespace EfficientNet.Packaging.Tests;

/// <summary>
/// The packages as an app gets them: packs both libraries into a folder, builds a console app outside the repository
/// from that folder (no RuntimeIdentifier, as <c>dotnet new console</c> makes apps, so none of this repository's build
/// files apply), trains and saves a tiny model with it, and scores the saved model in a process that references
/// neither library. The libstdc++ fix reaches the app only through the package's buildTransitive targets.
/// </summary>
[TestClass]
public sealed class PackagedAppTests
{
    public TestContext TestContext { get; set; } = null!;

    private static readonly string[] Libraries = ["Microsoft.ML.EfficientNet", "EfficientNet.Training"];

    [TestMethod]
    public void AppBuiltFromThePackagesTrainsAndItsModelScoresWithoutThem()
    {
        var clock = Stopwatch.StartNew();
        using var dir = new TemporaryDirectory();
        string configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}") ? "Debug" : "Release";
        // A version no earlier run used, so a package left in the global-packages folder can never satisfy the restore.
        string version = "0.1.0-ptest" + Guid.NewGuid().ToString("N")[..12];
        string feed = Path.Combine(dir.Path, "packages");
        foreach (string library in Libraries)
        {
            // The libraries are built by this test project's references; pack what was built and tested.
            Dotnet("pack", Path.Combine(Fixtures.RepositoryRoot, "src", library, library + ".csproj"), "-c", configuration, "--no-build",
                "-o", feed, $"-p:Version={version}");
        }
        CollectionAssert.AreEquivalent(Libraries.Select(l => $"{l}.{version}.nupkg").ToList(), Directory.GetFiles(feed).Select(Path.GetFileName).ToList());
        TestContext.WriteLine($"packed in {clock.Elapsed.TotalSeconds:F0} s");

        string app = Path.Combine(dir.Path, "app");
        Directory.CreateDirectory(app);
        File.Copy(Path.Combine(AppContext.BaseDirectory, "App", "Program.cs"), Path.Combine(app, "Program.cs"));
        File.WriteAllText(Path.Combine(app, "PackagedApp.csproj"), AppProject(version));
        // The packed folder beside the sources the machine's NuGet configuration already lists (this file adds to them).
        File.WriteAllText(Path.Combine(app, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="packed" value="{feed}" />
              </packageSources>
            </configuration>
            """);
        try
        {
            var build = Dotnet("build", Path.Combine(app, "PackagedApp.csproj"), "-c", "Release");
            TestContext.WriteLine($"restored and built in {clock.Elapsed.TotalSeconds:F0} s");
            string output = Path.Combine(app, "bin", "Release", "net10.0");
            string nativeFolder = Path.Combine(output, "runtimes", "linux-x64", "native");
            Assert.IsTrue(File.Exists(Path.Combine(nativeFolder, "libLibTorchSharp.so")), $"no RuntimeIdentifier: TorchSharp's natives are under {nativeFolder}");
            if (!SystemLibStdCxxHas("GLIBCXX_3.4.32"))
                StringAssert.Contains(build.Output, "Marked GLIBCXX_3.4.32 weak in bin/Release/net10.0/runtimes/linux-x64/native/libLibTorchSharp.so", "the package's buildTransitive fix ran");

            string model = Path.Combine(dir.Path, "model.zip");
            var images = ImageData.GoodRows().Select(r => r.Path).ToList();
            var run = ProcessRunner.RunDotnet(Path.Combine(output, "PackagedApp.dll"), [model, ImageData.Folder, .. images], TimeSpan.FromMinutes(3));
            Assert.AreEqual(0, run.ExitCode, $"the app failed:\n{run.Output}\n{run.Error}");
            TestContext.WriteLine($"trained and saved in {clock.Elapsed.TotalSeconds:F0} s");
            using var printed = JsonDocument.Parse(run.Output.Trim().Split('\n').Last());
            var natives = printed.RootElement.GetProperty("natives").EnumerateArray().Select(n => n.GetString()!).ToList();
            CollectionAssert.AreEquivalent(new[] { Path.Combine(nativeFolder, "libLibTorchSharp.so"), Path.Combine(nativeFolder, "libtorch_cpu.so") }, natives,
                "libtorch loaded from the app's own output folder");
            var predicted = printed.RootElement.GetProperty("predicted").EnumerateArray().Select(p => p.GetString()).ToList();
            CollectionAssert.IsSubsetOf(predicted.Distinct().ToList(), new[] { "round", "square" });

            var check = ModelLoadCheck.Run(model, ImageData.Folder, "PredictedLabelValue", images);
            foreach (string library in (string[])[.. Libraries, "TorchSharp"])
                CollectionAssert.DoesNotContain(check.Assemblies.ToList(), library);
            CollectionAssert.AreEqual(predicted, check.Values.Select(v => v.EnumerateArray().Single().GetString()).ToList(),
                "the model loaded without the libraries predicts what the app's trained one did");
            TestContext.WriteLine($"scored without the libraries; {clock.Elapsed.TotalSeconds:F0} s in all");
        }
        finally
        {
            RemoveFromGlobalPackages(Path.Combine(app, "obj", "project.assets.json"), version);
        }
    }

    /// <summary>The app's project file: no RuntimeIdentifier, and explicit versions (an app outside the repository has no
    /// central package management), taken from Directory.Packages.props so they are the ones the libraries were built with.</summary>
    private static string AppProject(string version)
    {
        var pinned = XDocument.Load(Path.Combine(Fixtures.RepositoryRoot, "Directory.Packages.props")).Descendants("PackageVersion")
            .ToDictionary(p => (string)p.Attribute("Include")!, p => (string)p.Attribute("Version")!);
        string Reference(string id, string? v = null) => $"""    <PackageReference Include="{id}" Version="{v ?? pinned[id]}" />""";
        return $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
              </PropertyGroup>
              <ItemGroup>
            {Reference("EfficientNet.Training", version)}
            {Reference("TorchSharp-cpu")}
            {Reference("Microsoft.ML.OnnxRuntime")}
            {Reference("SkiaSharp.NativeAssets.Linux.NoDependencies")}
              </ItemGroup>
            </Project>
            """;
    }

    /// <summary>Runs a dotnet CLI command without build servers (they would outlive the test holding its output pipes);
    /// fails with the tool's whole output when it does.</summary>
    private static ProcessRunner.Result Dotnet(string command, string project, params string[] args)
    {
        var result = ProcessRunner.RunDotnet(command, [project, "--disable-build-servers", "-v:m", .. args], TimeSpan.FromMinutes(5));
        if (result.ExitCode != 0)
            Assert.Fail($"`dotnet {command} {project} {string.Join(' ', args)}` failed with exit code {result.ExitCode}:\n{result.Output}\n{result.Error}");
        return result;
    }

    private static bool SystemLibStdCxxHas(string version) =>
        new[] { "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6" }.Where(File.Exists).Take(1)
            .Any(p => File.ReadAllText(p).Contains(version, StringComparison.Ordinal));

    /// <summary>Deletes this run's packages from the global-packages folder the app restored into, so runs leave nothing behind.</summary>
    private static void RemoveFromGlobalPackages(string assetsFile, string version)
    {
        if (!File.Exists(assetsFile)) return;
        using var assets = JsonDocument.Parse(File.ReadAllText(assetsFile));
        foreach (var folder in assets.RootElement.GetProperty("packageFolders").EnumerateObject())
        {
            foreach (string library in Libraries)
            {
                string id = Path.Combine(folder.Name, library.ToLowerInvariant());
                if (Directory.Exists(Path.Combine(id, version))) Directory.Delete(Path.Combine(id, version), recursive: true);
                if (Directory.Exists(id) && !Directory.EnumerateFileSystemEntries(id).Any()) Directory.Delete(id);
            }
        }
    }
}
