using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.EfficientNet;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Data;
using Microsoft.ML.EfficientNet.Onnx;
using Microsoft.ML.EfficientNet.Scoring;
using Microsoft.ML.EfficientNet.Weights;
using Microsoft.ML.Trainers;

namespace EfficientNet.Training.Comparison;

/// <summary>
/// <see cref="ComparisonStrategy.Features"/>: featurizes the training split with the frozen backbone, fits an ML.NET
/// linear classifier on the features, writes that classifier into the network as its head, exports the whole network
/// and measures the export.
/// </summary>
internal sealed class FeaturesStrategy(EfficientNetComparisonSettings settings, ComparisonMonitor monitor) : ICandidateStrategy
{
    public CandidateResult Run(CandidateTrial trial, CancellationToken cancellationToken)
    {
        var s = settings;
        var (candidate, blank, folder, train) = (trial.Candidate, trial.Blank, trial.Folder, trial.Train);
        var clock = Stopwatch.StartNew();
        var weights = WeightsResolver.Resolve(new WeightsRequest(candidate.Variant)
        {
            File = candidate.WeightsPath,
            FileDescription = $"Weights of {candidate.Name}",
            CacheDirectory = s.CacheDirectory,
            AllowDownload = s.AllowDownload,
            UseRandomWeights = s.UseRandomWeights && candidate.WeightsPath is null,
            RandomSeed = s.Seed,
            ReplaceHead = true,
            Logger = s.Logger,
        });
        // The featurizer reads the same backbone as the final model, so the classifier learns on exactly the features
        // the exported network computes.
        string backbone = Path.Combine(folder, "backbone.onnx");
        EfficientNetOnnxExporter.Export(weights, backbone, new OnnxExportOptions { Outputs = OnnxOutputs.Features, Resolution = blank.ImageSize });
        var ml = new MLContext(s.Seed);
        var (features, labels, width) = Featurize(ml, candidate.Variant, backbone, train, s.Logger);
        monitor.Training(trial.Index, candidate.Name, 0.8, null);

        int classes = train.Classes.Count;
        var schema = SchemaDefinition.Create(typeof(FeatureRow));
        schema[nameof(FeatureRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, width);
        schema[nameof(FeatureRow.Label)].ColumnType = new KeyDataViewType(typeof(uint), classes);
        // LoadFromEnumerable takes a key column's values zero-based (it stores index + 1, 0 being "missing"): class c is c.
        var rows = features.Select((f, i) => new FeatureRow { Features = f, Label = (uint)labels[i] });
        var data = ml.Data.LoadFromEnumerable(rows, schema);
        MaximumEntropyModelParameters head = s.FeatureClassifier == FeatureClassifier.SdcaMaximumEntropy
            ? ml.MulticlassClassification.Trainers.SdcaMaximumEntropy(nameof(FeatureRow.Label), nameof(FeatureRow.Features)).Fit(data).Model
            : ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy(nameof(FeatureRow.Label), nameof(FeatureRow.Features)).Fit(data).Model;
        VBuffer<float>[] rowsOfWeights = [];
        head.GetWeights(ref rowsOfWeights, out int numClasses);
        if (numClasses != classes) throw new InvalidOperationException($"The classifier has {numClasses} classes, the data {classes}.");
        var w = new float[classes * width];
        for (int c = 0; c < classes; c++) rowsOfWeights[c].DenseValues().ToArray().CopyTo(w, c * width);
        var b = head.GetBiases().ToArray();
        double seconds = clock.Elapsed.TotalSeconds;

        // The linear classifier becomes the network's own head: softmax(W·f + b) ranks classes as ML.NET's model does.
        var spec = EfficientNetSpec.Create(candidate.Variant, classes);
        var entries = weights.Weights.Entries.Where(e => !e.Key.StartsWith(spec.Classifier.Name + ".", StringComparison.Ordinal)).ToList();
        entries.Add(new(spec.Classifier.Name + ".weight", new WeightTensor([classes, width], w)));
        entries.Add(new(spec.Classifier.Name + ".bias", new WeightTensor([classes], b)));
        var whole = EfficientNetCheckpoint.FromCanonical(spec, new StateDict(entries, $"{weights.Origin} + {s.FeatureClassifier}"), weights.Source);
        string model = Path.Combine(folder, "model.onnx");
        EfficientNetOnnxExporter.Export(whole, model, new OnnxExportOptions { Outputs = OnnxOutputs.LogitsAndFeatures, Resolution = blank.ImageSize, Labels = train.Classes });
        File.Delete(backbone);
        monitor.Measuring(trial.Index, candidate.Name);
        return CandidateMeasurements.Measure(blank, model, trial.HeldOut, s) with { TrainSeconds = seconds };
    }

    /// <summary>The network is not trained: no starting weights beyond the candidate's own, no epochs, no training options.</summary>
    public StrategyFingerprint Fingerprint(ComparisonCandidate candidate, int imageSize) => new(null, 0, null);

    public string ChanceCause(int trainImages) => settings.UseRandomWeights
        ? "features of random weights do not tell these classes apart"
        : string.Create(CultureInfo.InvariantCulture, $"the pretrained features do not tell these classes apart on {trainImages:N0} training images");

    private static (List<float[]> Features, List<int> Labels, int Width) Featurize(MLContext ml, EfficientNetVariant variant, string onnx, LabeledImageSet images, ILogger? logger)
    {
        var view = new ImageSetDataView(images, logger);
        using var featurizer = new EfficientNetFeaturizerEstimator(ml.Transforms, variant, EfficientNetCatalog.DefaultOutputColumnName, ImageSetDataView.ImageColumn,
            new EfficientNetFeaturizerOptions { WeightsPath = onnx, Logger = logger }).Fit(view);
        var output = featurizer.Transform(view);
        var featuresColumn = output.Schema[featurizer.OutputColumnName];
        var indexColumn = output.Schema[ImageSetDataView.IndexColumn];
        using var cursor = output.GetRowCursor([featuresColumn, indexColumn]);
        var getFeatures = cursor.GetGetter<VBuffer<float>>(featuresColumn);
        var getIndex = cursor.GetGetter<int>(indexColumn);
        VBuffer<float> buffer = default;
        int index = 0;
        var features = new List<float[]>();
        var labels = new List<int>();
        while (cursor.MoveNext())
        {
            getFeatures(ref buffer);
            getIndex(ref index);
            var values = buffer.DenseValues().ToArray();
            if (float.IsNaN(values[0])) continue; // unreadable image, already logged by the featurizer
            features.Add(values);
            labels.Add(images.Label(index));
        }
        if (features.Count == 0) throw new InvalidDataException("No training image could be featurized.");
        return (features, labels, featurizer.Metadata.FeatureWidth);
    }

    private sealed class FeatureRow
    {
        public float[] Features { get; set; } = [];

        public uint Label { get; set; }
    }
}
