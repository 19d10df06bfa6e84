// Featurize a folder of images with EfficientNet and train an ML.NET classifier on the features.
//
//   dotnet run -c Release --project samples/FeaturizerSample -- [--images DIR] [--variant b0] [--trainer sdca|lightgbm]
//       [--weights FILE | --random-weights] [--per-class N] [--classes 5,6,7,8,9] [--resolution R]
//
// DIR holds one sub-folder per class. Without --images, the sample writes a Fashion-MNIST subset (dataset-fashion-mnist,
// the classes given by --classes) as PNG files and uses that. Without --weights, the featurizer uses torchvision's
// ImageNet weights from the cache (downloading them once). Offline, samples/run.sh first trains a small B0 on five
// Fashion-MNIST classes and featurizes the other five with it. --random-weights runs with untrained weights: the
// pipeline works, the features carry no information (accuracy at chance).
using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.EfficientNet.Data;
using Microsoft.ML.EfficientNet.Scoring;

string? images = Arg("--images");
string variant = Arg("--variant") ?? "b0";
string trainer = Arg("--trainer") ?? "sdca";
int perClass = int.Parse(Arg("--per-class") ?? "150", System.Globalization.CultureInfo.InvariantCulture);
var classes = (Arg("--classes") ?? "0,1,2,3,4,5,6,7,8,9").Split(',').Select(c => int.Parse(c, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
var options = new EfficientNetFeaturizerOptions
{
    WeightsPath = Arg("--weights"),
    UseRandomWeights = args.Contains("--random-weights"),
    Resolution = Arg("--resolution") is { } r ? int.Parse(r, System.Globalization.CultureInfo.InvariantCulture) : null,
};

if (images is null)
{
    images = Path.Combine(Path.GetTempPath(), $"efficientnetml-sample-fashion-mnist-{string.Join("", classes)}-{perClass}");
    if (!Directory.Exists(images))
    {
        int written = FashionMnist.Load(train: false).WriteImageFolder(images, perClass, classes);
        Console.WriteLine($"Wrote {written} Fashion-MNIST images ({perClass} per class) to {images}");
    }
}

var folder = ImageFolder.Open(images);
var (trainRows, testRows) = folder.Split(validationFraction: 0.25, seed: 1);
Console.WriteLine($"{folder.Rows.Count} images, {folder.Classes.Count} classes: {trainRows.Count} to train, {testRows.Count} to test");

var ml = new MLContext(seed: 1);
var train = ml.Data.LoadFromEnumerable(trainRows);
var test = ml.Data.LoadFromEnumerable(testRows);

var pipeline = ml.Transforms.Conversion.MapValueToKey("LabelKey", "Label")
    .Append(ml.Transforms.LoadImages("Image", folder.Root, "Path"))
    .Append(ml.Transforms.EfficientNetFeaturizer(variant, "Features", "Image", options))
    // Trainers read their data many times: cache the features so each image goes through the network once.
    .AppendCacheCheckpoint(ml)
    .Append(ml.Transforms.NormalizeMinMax("Features"))
    .Append(trainer == "lightgbm"
        ? (IEstimator<ITransformer>)ml.MulticlassClassification.Trainers.LightGbm("LabelKey", "Features")
        : ml.MulticlassClassification.Trainers.SdcaMaximumEntropy("LabelKey", "Features"))
    .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));

var clock = Stopwatch.StartNew();
var model = pipeline.Fit(train);
Console.WriteLine($"Featurized and trained ({variant}, {trainer}) in {clock.Elapsed.TotalSeconds:F1} s");

var metrics = ml.MulticlassClassification.Evaluate(model.Transform(test), labelColumnName: "LabelKey");
Console.WriteLine($"Test accuracy: {metrics.MicroAccuracy:P1} (macro {metrics.MacroAccuracy:P1}), log-loss {metrics.LogLoss:F3}");
Console.WriteLine(metrics.ConfusionMatrix.GetFormattedConfusionTable());

string saved = Path.Combine(Path.GetTempPath(), $"efficientnet-{variant}-{trainer}.zip");
ml.Model.Save(model, train.Schema, saved);
Console.WriteLine($"Saved the whole pipeline to {saved}: it loads with plain ML.NET (no EfficientNetML reference needed).");

string? Arg(string name)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}
