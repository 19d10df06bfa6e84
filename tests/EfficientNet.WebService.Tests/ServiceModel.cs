using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Onnx;
using Microsoft.ML.EfficientNet.Preprocessing;
using Microsoft.ML.EfficientNet.Weights;

namespace EfficientNet.WebService.Tests;

/// <summary>
/// The model every test serves: a tiny random EfficientNet (width and depth 0.25, 5 classes) at 96 px, exported once
/// per test run: small enough to score in milliseconds, large enough for a 3×3 class activation map.
/// </summary>
internal static class ServiceModel
{
    public static readonly string[] Labels = ["cat", "dog", "bird", "fish", "frog"];

    /// <summary>The folder of the exported model, deleted after the assembly's tests (<see cref="ServiceModelCleanup"/>).</summary>
    public static readonly string Folder = Path.Combine(Path.GetTempPath(), "efficientnetml-webservice-" + Environment.ProcessId);

    private static readonly Lazy<string> LazyPath = new(() =>
    {
        string folder = Folder;
        Directory.CreateDirectory(folder);
        string path = Path.Combine(folder, "model.onnx");
        var spec = EfficientNetSpec.Create(EfficientNetVariant.Custom(0.25, 0.25, 96, name: "tiny96"), numClasses: Labels.Length);
        var random = RandomWeights.Create(spec, seed: 5);
        // Random weights at this size pool to tiny features: a larger classifier gives logits of a few units.
        var weights = new StateDict(random.Weights.Entries.Select(e => e.Key != spec.Classifier.Name + ".weight" ? e
            : new KeyValuePair<string, WeightTensor>(e.Key, new WeightTensor(e.Value.Shape, e.Value.Values.Select(v => v * 3e10f).ToArray()))));
        EfficientNetOnnxExporter.Export(EfficientNetCheckpoint.FromCanonical(spec, weights, random.Source), path,
            new OnnxExportOptions { Labels = Labels, Preprocessing = PreprocessingRecipe.Centered(96, 96 / 108.0) });
        return path;
    });

    /// <summary>The exported model file.</summary>
    public static string ModelPath => LazyPath.Value;

    /// <summary>The service in process over the model, with extra command-line settings (<c>max-body-mb</c>, <c>queue</c>, …).</summary>
    public static WebApplicationFactory<Program> Service(params (string Key, string Value)[] settings) =>
        new WebApplicationFactory<Program>().WithWebHostBuilder(web =>
        {
            web.UseSetting("model", ModelPath);
            foreach (var (key, value) in settings) web.UseSetting(key, value);
        });

    /// <summary>The generated test images' bytes (two shapes, JPEG and PNG).</summary>
    public static byte[][] Images() => ImageData.GoodRows().Select(r => File.ReadAllBytes(Path.Combine(ImageData.Folder, r.Path))).ToArray();
}

/// <summary>Deletes the exported model once every test of the assembly has run.</summary>
[TestClass]
public static class ServiceModelCleanup
{
    [AssemblyCleanup]
    public static void DeleteTheModel()
    {
        try { Directory.Delete(ServiceModel.Folder, recursive: true); } catch (DirectoryNotFoundException) { } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
