using System.Diagnostics;
using System.Globalization;
using Google.Protobuf;
using Microsoft.ML.EfficientNet.Data;
using Microsoft.ML.EfficientNet.Evaluation;
using Microsoft.ML.EfficientNet.IO;
using Microsoft.ML.EfficientNet.Onnx;
using Microsoft.ML.EfficientNet.Preprocessing;
using Microsoft.ML.EfficientNet.Scoring;
using Onnx;

namespace Microsoft.ML.EfficientNet.Quantization;

/// <summary>How close an int8 model stays to its float original on the calibration images.</summary>
/// <param name="Images">Calibration images scored by both models.</param>
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
    double? Float32Accuracy, double? Int8Accuracy, int QuantizedNodes, int Activations, double Seconds);

/// <summary>An int8 model and how it compares with its float original.</summary>
/// <param name="Model">The serialised ONNX model (QDQ form).</param>
/// <param name="Report">Agreement with the float model on the calibration images.</param>
public sealed record QuantizationResult(byte[] Model, QuantizationReport Report);

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

    /// <summary>Quantises <paramref name="model"/> with ranges calibrated on <paramref name="calibration"/>.</summary>
    /// <param name="model">A float model written by <c>efficientnet export</c> or <c>train</c> (with or without preprocessing).</param>
    /// <param name="calibration">Calibration images; up to <see cref="QuantizationOptions.CalibrationImages"/> are used,
    /// taken in turn from each class. Labels, when they are the model's classes, give the accuracies of the report.</param>
    /// <param name="options">Calibration method and layers; default <see cref="QuantizationOptions"/>.</param>
    /// <exception cref="InvalidDataException">The model is not one this library wrote, is already quantised, or no calibration image can be read.</exception>
    public static QuantizationResult Quantize(byte[] model, LabeledImageSet calibration, QuantizationOptions? options = null) =>
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

        var images = Spread(calibration, options.CalibrationImages);
        // One decoder for every pass, so an unreadable image is reported once.
        var decoder = new ImageDecoder(logger: options.Logger);
        IEnumerable<ImageBatch> Batches() => new EvaluationBatches(images, metadata.Preprocessing, options.BatchSize, options.Logger, normalize: metadata.Bare, decoder).All();

        var plan = QdqPlan.Create(proto.Graph, options.Layers);
        var ranges = ActivationCalibrator.Calibrate(proto, plan.Activations, () => Batches().Select(b => (b.Pixels, b.Count)), options.Method, options.Percentile, plan.FullRange);
        QdqRewriter.Apply(proto, plan, ranges);
        string method = options.Method == CalibrationMethod.Percentile
            ? string.Create(CultureInfo.InvariantCulture, $"percentile {options.Percentile}")
            : options.Method.ToString().ToLowerInvariant();
        proto.MetadataProps.Add(new StringStringEntryProto
        {
            Key = MetadataKey,
            Value = string.Create(CultureInfo.InvariantCulture,
                $"int8 QDQ: uint8 activations ({method}, {images.Count} images), int8 weights per channel; layers {options.Layers}"),
        });
        byte[] quantized = proto.ToByteArray();

        var report = Compare(model, quantized, Batches, images.Classes, metadata, options.BatchSize);
        return new QuantizationResult(quantized, report with { QuantizedNodes = plan.Nodes.Count, Activations = plan.Activations.Count, Seconds = clock.Elapsed.TotalSeconds });
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

    /// <summary>Up to <paramref name="count"/> images, taking one of each class in turn, so a small count still covers every class.</summary>
    private static LabeledImageSet Spread(LabeledImageSet set, int count)
    {
        if (set.Count <= count) return set;
        var byClass = Enumerable.Range(0, set.Count).GroupBy(set.Label).Select(g => new Queue<int>(g)).ToList();
        var chosen = new List<int>(count);
        while (chosen.Count < count)
            foreach (var queue in byClass)
                if (chosen.Count < count && queue.TryDequeue(out int i)) chosen.Add(i);
        chosen.Sort();
        return set.Subset(chosen);
    }

    private static QuantizationReport Compare(byte[] floatModel, byte[] int8Model, Func<IEnumerable<ImageBatch>> batches, IReadOnlyList<string> classes,
        OnnxModelMetadata metadata, int batchSize)
    {
        var outputs = OnnxModelEditing.Signature(floatModel).Outputs;
        string output = outputs.Contains(OnnxExportOptions.LogitsOutputName) ? OnnxExportOptions.LogitsOutputName : outputs[0];
        bool logits = output == OnnxExportOptions.LogitsOutputName;
        long[]? map = null;
        if (logits)
        {
            var labels = metadata.Labels ?? Enumerable.Range(0, metadata.NumClasses).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToList();
            try
            {
                map = OnnxModelEvaluation.ClassMap(classes, labels, metadata.Labels is not null);
            }
            catch (ArgumentException)
            {
                // Unlabelled images, or other classes than the model's: agreement only.
            }
        }

        using var reference = new EfficientNetOnnxSession(floatModel, output, parallelism: 1);
        using var quantized = new EfficientNetOnnxSession(int8Model, output, parallelism: 1);
        int width = reference.OutputWidth;
        var a = new float[batchSize * width];
        var b = new float[batchSize * width];
        int count = 0, agree = 0, rightFloat = 0, rightInt8 = 0;
        double cosine = 0;
        foreach (var batch in batches())
        {
            reference.Score(batch.Pixels, batch.Count, a);
            quantized.Score(batch.Pixels, batch.Count, b);
            for (int i = 0; i < batch.Count; i++)
            {
                var x = a.AsSpan(i * width, width);
                var y = b.AsSpan(i * width, width);
                cosine += System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(x, y);
                if (logits)
                {
                    int cx = System.Numerics.Tensors.TensorPrimitives.IndexOfMax(x), cy = System.Numerics.Tensors.TensorPrimitives.IndexOfMax(y);
                    if (cx == cy) agree++;
                    if (map is not null)
                    {
                        long target = map[batch.Labels[i]];
                        if (cx == target) rightFloat++;
                        if (cy == target) rightInt8++;
                    }
                }
            }
            count += batch.Count;
        }
        if (count == 0) throw new InvalidDataException("None of the calibration images could be read.");
        return new QuantizationReport(count, output, logits ? agree / (double)count : null, cosine / count,
            map is null ? null : rightFloat / (double)count, map is null ? null : rightInt8 / (double)count, 0, 0, 0);
    }
}
