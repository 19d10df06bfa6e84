// Usage: PackagedApp MODEL.zip IMAGE_FOLDER CLASS/IMAGE...
// An app as a new user writes it, built from the packed packages: trains a tiny EfficientNet through the ML.NET trainer
// on the images (label = their folder), saves the model, and prints one JSON object: the native libraries libtorch came
// from (read from /proc/self/maps, proof that it loaded) and the label the trained model predicts for each image.
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;

string modelPath = args[0], imageFolder = args[1];
var rows = args.Skip(2).Select(p => new ImageRow { Path = p, Label = p.Split('/')[0] }).ToList();
var ml = new MLContext(seed: 1);
var data = ml.Data.LoadFromEnumerable(rows);
var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
    .Append(ml.Transforms.LoadImages("Image", imageFolder, "Path"))
    .Append(ml.MulticlassClassification.Trainers.EfficientNet(new()
    {
        InitialWeights = null, // from scratch: the test machine has no ImageNet weights
        Epochs = 1,
        BatchSize = 8,
        ImageSize = 32,
        Seed = 1,
        OutputDirectory = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(modelPath))!, "run"),
    }))
    .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabelValue", "PredictedLabel"));
var model = pipeline.Fit(data);
ml.Model.Save(model, data.Schema, modelPath);

var predicted = model.Transform(data).GetColumn<VBuffer<ReadOnlyMemory<char>>>("PredictedLabelValue")
    .Select(v => v.GetItemOrDefault(0).ToString()).ToArray();
var natives = File.ReadLines("/proc/self/maps").Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries).Last())
    .Where(p => p.EndsWith("/libLibTorchSharp.so", StringComparison.Ordinal) || p.EndsWith("/libtorch_cpu.so", StringComparison.Ordinal))
    .Distinct().Order().ToArray();
Console.WriteLine(JsonSerializer.Serialize(new { natives, predicted }));

internal sealed class ImageRow
{
    public string Path { get; set; } = "";
    public string Label { get; set; } = "";
}
