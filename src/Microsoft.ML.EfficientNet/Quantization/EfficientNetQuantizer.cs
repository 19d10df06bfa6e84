using System.Diagnostics;
using System.Globalization;
using Google.Protobuf;
using Microsoft.ML.EfficientNet.Data;
using Microsoft.ML.EfficientNet.Evaluation;
using Microsoft.ML.EfficientNet.IO;
using Microsoft.ML.EfficientNet.Onnx;
using Microsoft.ML.EfficientNet.Preprocessing;
using Onnx;
using Microsoft.ML.EfficientNet.Runtime;

namespace Microsoft.ML.EfficientNet.Quantization;

/// <summary>
/// How close an int8 model stays to its float original: measured on the held-out images when the model has logits and
/// images were held out (<see cref="HeldOutImages"/>), else on the calibration images; which layers stayed float.
/// </summary>
/// <param name="Images">Calibration images the ranges come from.</param>
/// <param name="Output">The output compared: <c>logits</c> when the model has it, else <c>features</c>.</param>
/// <param name="Top1Agreement">Share of images whose highest logit is the same class in both models, or null for a
/// features-only model.</param>
/// <param name="MeanCosine">Mean cosine similarity of the two models' output rows.</param>
/// <param name="Float32Accuracy">Accuracy of the float model, when the images are labelled with the model's classes; else null.</param>
/// <param name="Int8Accuracy">Accuracy of the int8 model on the same images, or null.</param>
/// <param name="QuantizedNodes">Nodes of the float graph that became int8.</param>
/// <param name="Activations">Activations given a calibrated range.</param>
/// <param name="Seconds">Wall-clock time of calibration, rewriting and the check.</param>
public sealed record QuantizationReport(int Images, string Output, double? Top1Agreement, double MeanCosine,
    double? Float32Accuracy, double? Int8Accuracy, int QuantizedNodes, int Activations, double Seconds)
{
    /// <summary>Images held out of calibration that the comparison was measured on; 0 when it was measured on the calibration images.</summary>
    public int HeldOutImages { get; init; }

    /// <summary>Percentage points lost by the written model: accuracy when the images carry the model's classes, else
    /// top-1 disagreement with the float model; null for a features-only model.</summary>
    public double? AccuracyDrop { get; init; }

    /// <summary>The drop with every chosen layer int8, before any fell back to float.</summary>
    public double? AllLayersAccuracyDrop { get; init; }

    /// <summary>Top-1 agreement with every chosen layer int8, before any fell back to float.</summary>
    public double? AllLayersTop1Agreement { get; init; }

    /// <summary>The bound asked for (<see cref="QuantizationOptions.MaxAccuracyDrop"/>).</summary>
    public double MaxAccuracyDrop { get; init; }

    /// <summary>Whether <see cref="AccuracyDrop"/> is within <see cref="MaxAccuracyDrop"/>; null when nothing was held out to measure it.</summary>
    public bool? WithinMaxAccuracyDrop { get; init; }

    /// <summary>Layers left float (exporter block names such as <c>features.6.2</c>), in graph order; empty when every chosen layer is int8.</summary>
    public IReadOnlyList<string> FloatLayers { get; init; } = [];

    /// <summary>The accuracy-aware search: each layer left float, in the order tried, with the drop measured after it.</summary>
    internal IReadOnlyList<QuantizationStep> Steps { get; init; } = [];
}

/// <summary>One step of the accuracy-aware search.</summary>
/// <param name="Layer">The layer left float in this step (with those of the earlier steps).</param>
/// <param name="Sensitivity">How much closer to the float model the outputs come with only this layer float: the share
/// of the all-int8 model's mean squared output error it removes.</param>
/// <param name="AccuracyDrop">The drop, in percentage points, with this and the earlier layers float.</param>
/// <param name="Top1Agreement">Top-1 agreement with the float model with this and the earlier layers float.</param>
internal sealed record QuantizationStep(string Layer, double Sensitivity, double AccuracyDrop, double Top1Agreement);

/// <summary>An int8 model and how it compares with its float original.</summary>
/// <param name="Model">The serialised ONNX model (QDQ form).</param>
/// <param name="Report">Agreement with the float model on the calibration images.</param>
internal sealed record QuantizationResult(byte[] Model, QuantizationReport Report);

/// <summary>
/// Post-training static int8 quantisation of the ONNX models this library writes, in managed code: activation ranges
/// calibrated on images (preprocessed as the model's metadata says), weights symmetric per output channel, the result in
/// ONNX's QDQ form, which ONNX Runtime's CPU provider runs with its integer kernels. Inputs, outputs, their names and
/// <c>metadata_props</c> stay as they were, so <c>evaluate</c>, <c>predict</c>, the featurizer and a saved ML.NET
/// model use the result as they use the float model; the in-graph preprocessing stays float.
/// </summary>
public static class EfficientNetQuantizer
{
    /// <summary>Metadata key recording how a model was quantised.</summary>
    public const string MetadataKey = "quantization";

    /// <summary>Held-out images each layer's sensitivity is measured on: enough to order the layers, a quarter of the default check.</summary>
    private const int SensitivityImages = 256;

    /// <summary>Quantises <paramref name="model"/> with ranges calibrated on <paramref name="calibration"/>.</summary>
    /// <param name="model">A float model written by <c>efficientnet export</c> or <c>train</c> (with or without preprocessing).</param>
    /// <param name="calibration">Calibration images; up to <see cref="QuantizationOptions.CalibrationImages"/> are used,
    /// taken in turn from each class. Labels, when they are the model's classes, give the accuracies of the report.</param>
    /// <param name="options">Calibration method and layers; default <see cref="QuantizationOptions"/>.</param>
    /// <exception cref="InvalidDataException">The model is not one this library wrote, is already quantised, or no calibration image can be read.</exception>
    internal static QuantizationResult Quantize(byte[] model, LabeledImageSet calibration, QuantizationOptions? options = null) =>
        Quantize(model, "the model", calibration, options);

    /// <summary>As the public overload; errors about the model name <paramref name="source"/> (its file, when there is one).</summary>
    private static QuantizationResult Quantize(byte[] model, string source, LabeledImageSet calibration, QuantizationOptions? options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(calibration);
        options ??= new QuantizationOptions();
        options.Check();
        var clock = Stopwatch.StartNew();
        var metadata = OnnxModelValidation.Check(model, source);
        var proto = ModelProto.Parser.ParseFrom(model);
        if (proto.MetadataProps.Any(p => p.Key == MetadataKey))
            throw new InvalidDataException("The model is already quantised (its metadata has 'quantization'); quantise the float model it came from.");
        if (calibration.Count == 0) throw new ArgumentException("The calibration set has no images.", nameof(calibration));

        bool logits = OnnxModelEditing.Signature(model).Outputs.Contains(OnnxExportOptions.LogitsOutputName);
        var (images, heldOut) = Split(calibration, options.CalibrationImages, logits ? options.HeldOutImages : 0);
        // One decoder for every pass, so an unreadable image is reported once.
        var decoder = new ImageDecoder(logger: options.Logger);
        Func<IEnumerable<ImageBatch>> Batches(LabeledImageSet set) =>
            () => new EvaluationBatches(set, metadata.Preprocessing, options.BatchSize, options.Logger, normalize: metadata.Bare, decoder).All();

        var plan = QdqPlan.Create(proto.Graph, options.Layers);
        var ranges = ActivationCalibrator.Calibrate(proto, plan.Activations, () => Batches(images)().Select(b => (b.Pixels, b.Count)), options.Method,
            options.Percentile, plan.FullRange, out int calibrated);
        string method = options.Method == CalibrationMethod.Percentile
            ? string.Create(CultureInfo.InvariantCulture, $"percentile {options.Percentile}")
            : options.Method.ToString().ToLowerInvariant();
        string how = string.Create(CultureInfo.InvariantCulture,
            $"int8 QDQ: uint8 activations ({method}, {calibrated} images), {options.WeightBits}-bit weights per channel; layers {options.Layers}");

        byte[] Build(IReadOnlySet<string> floatLayers, out QdqPlan built)
        {
            var copy = proto.Clone();
            built = QdqPlan.Create(copy.Graph, options.Layers, floatLayers);
            QdqRewriter.Apply(copy, built, ranges, options.WeightBits);
            copy.MetadataProps.Add(new StringStringEntryProto
            {
                Key = MetadataKey,
                Value = floatLayers.Count == 0 ? how : $"{how}; float layers {string.Join(", ", plan.Layers.Where(floatLayers.Contains))}",
            });
            return copy.ToByteArray();
        }

        var check = new Int8Check(model, Batches(heldOut ?? images), calibration.Classes, metadata, options.BatchSize);
        var search = new FallbackSearch(plan.Layers, layers => check.Compare(Build(layers, out _), SensitivityImages), layers => check.Compare(Build(layers, out _)));
        var outcome = search.Run(options.MaxAccuracyDrop, measure: heldOut is not null && check.HasLogits);
        byte[] quantized = Build(outcome.FloatLayers, out var final);
        var c = outcome.Comparison;
        var report = new QuantizationReport(calibrated, check.Output, c.Top1Agreement, c.MeanCosine, c.Float32Accuracy, c.Int8Accuracy,
            final.Nodes.Count, final.Activations.Count, clock.Elapsed.TotalSeconds)
        {
            HeldOutImages = heldOut is null ? 0 : c.Images,
            AccuracyDrop = c.Drop,
            AllLayersAccuracyDrop = outcome.AllLayers.Drop,
            AllLayersTop1Agreement = outcome.AllLayers.Top1Agreement,
            MaxAccuracyDrop = options.MaxAccuracyDrop,
            WithinMaxAccuracyDrop = heldOut is null || c.Drop is null ? null : c.Drop <= options.MaxAccuracyDrop + 1e-9,
            FloatLayers = plan.Layers.Where(outcome.FloatLayers.Contains).ToList(),
            Steps = outcome.Steps,
        };
        return new QuantizationResult(quantized, report);
    }

    /// <summary>Quantises the model file at <paramref name="modelPath"/> (or a run folder's model) into <paramref name="outputPath"/>, written atomically.</summary>
    /// <param name="modelPath">An .onnx file, a run folder of <c>efficientnet train</c>, or a weights file exported first with
    /// the preprocessing and labels it records (<see cref="EfficientNetOnnxExporter.ReadOrExport"/>).</param>
    /// <param name="calibration">Calibration images, as for <see cref="Quantize(byte[], LabeledImageSet, QuantizationOptions?)"/>.</param>
    /// <param name="outputPath">The int8 .onnx file to write.</param>
    /// <param name="options">Calibration method and layers.</param>
    public static QuantizationReport Quantize(string modelPath, LabeledImageSet calibration, string outputPath, QuantizationOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelPath);
        ArgumentException.ThrowIfNullOrEmpty(outputPath);
        string path = RunFolder.ModelPathOf(modelPath);
        var result = Quantize(EfficientNetOnnxExporter.ReadOrExport(path), path, calibration, options);
        AtomicFile.WriteAllBytes(outputPath, result.Model);
        return result.Report;
    }

    /// <summary>
    /// The calibration images and the held-out ones (null when none are held out): the first <paramref name="count"/>
    /// images spread over the classes calibrate, and up to <paramref name="heldOut"/> of the rest measure; a set no
    /// larger than <paramref name="count"/> gives a quarter of its images to the measurement.
    /// </summary>
    private static (LabeledImageSet Calibration, LabeledImageSet? HeldOut) Split(LabeledImageSet set, int count, int heldOut)
    {
        if (heldOut == 0) return (Spread(set, count), null);
        var all = Enumerable.Range(0, set.Count).ToList();
        if (set.Count <= count)
        {
            int measured = Math.Min(heldOut, set.Count / 4);
            if (measured == 0) return (set, null);
            var measuredIndices = Spread(all, set.Label, measured);
            return (set.Subset(all.Except(measuredIndices).ToList()), set.Subset(measuredIndices));
        }
        var calibrationIndices = Spread(all, set.Label, count);
        var rest = all.Except(calibrationIndices).ToList();
        return (set.Subset(calibrationIndices), set.Subset(Spread(rest, i => set.Label(i), heldOut)));
    }

    private static LabeledImageSet Spread(LabeledImageSet set, int count) =>
        set.Count <= count ? set : set.Subset(Spread(Enumerable.Range(0, set.Count).ToList(), set.Label, count));

    /// <summary>Up to <paramref name="count"/> of <paramref name="indices"/>, taking one of each class in turn, so a small count still covers every class; in their order.</summary>
    private static List<int> Spread(IReadOnlyList<int> indices, Func<int, int> label, int count)
    {
        if (indices.Count <= count) return indices.ToList();
        var byClass = indices.GroupBy(label).Select(g => new Queue<int>(g)).ToList();
        var chosen = new List<int>(count);
        while (chosen.Count < count)
            foreach (var queue in byClass)
                if (chosen.Count < count && queue.TryDequeue(out int i)) chosen.Add(i);
        chosen.Sort();
        return chosen;
    }
}
