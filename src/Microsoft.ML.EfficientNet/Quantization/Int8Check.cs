using System.Globalization;
using System.Numerics.Tensors;
using Microsoft.ML.EfficientNet.Data;
using Microsoft.ML.EfficientNet.Evaluation;
using Microsoft.ML.EfficientNet.Onnx;
using Microsoft.ML.EfficientNet.Runtime;

namespace Microsoft.ML.EfficientNet.Quantization;

/// <summary>How an int8 candidate scores against its float model on the measured images.</summary>
/// <param name="Images">Images scored by both models.</param>
/// <param name="Top1Agreement">Share of images with the same highest logit, or null for a features-only model.</param>
/// <param name="MeanCosine">Mean cosine similarity of the output rows.</param>
/// <param name="MeanSquaredError">Mean squared difference of the outputs, per value: the smooth measure that orders layers by sensitivity.</param>
/// <param name="Float32Accuracy">Accuracy of the float model when the images carry the model's classes, else null.</param>
/// <param name="Int8Accuracy">Accuracy of the int8 model, or null.</param>
internal sealed record Int8Comparison(int Images, double? Top1Agreement, double MeanCosine, double MeanSquaredError, double? Float32Accuracy, double? Int8Accuracy)
{
    /// <summary>
    /// Percentage points lost: accuracy when the images are labelled with the model's classes, else the share of images
    /// whose top-1 class changes (at least the accuracy any labelling could lose); null for a features-only model.
    /// </summary>
    public double? Drop => Float32Accuracy is { } f && Int8Accuracy is { } i ? 100 * (f - i) : Top1Agreement is { } a ? 100 * (1 - a) : null;
}

/// <summary>
/// Scores the float model once on a set of images and then compares int8 candidates with it on the same images, so the
/// accuracy-aware search pays the float model's time once.
/// </summary>
internal sealed class Int8Check
{
    private readonly Func<IEnumerable<ImageBatch>> _batches;
    private readonly long[]? _map;
    private readonly List<(float[] Output, long Label)> _reference = [];
    private readonly int _batchSize;

    /// <param name="floatModel">The float model.</param>
    /// <param name="batches">The measured images, decoded again for each candidate.</param>
    /// <param name="classes">The classes of the images' labels.</param>
    /// <param name="metadata">The float model's metadata (labels).</param>
    /// <param name="batchSize">Images per ONNX Runtime call.</param>
    public Int8Check(byte[] floatModel, Func<IEnumerable<ImageBatch>> batches, IReadOnlyList<string> classes, OnnxModelMetadata metadata, int batchSize)
    {
        _batches = batches;
        _batchSize = batchSize;
        var outputs = OnnxModelEditing.Signature(floatModel).Outputs;
        Output = outputs.Contains(OnnxExportOptions.LogitsOutputName) ? OnnxExportOptions.LogitsOutputName : outputs[0];
        if (HasLogits)
        {
            var labels = metadata.Labels ?? Enumerable.Range(0, metadata.NumClasses).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToList();
            try
            {
                _map = OnnxModelEvaluation.ClassMap(classes, labels, metadata.Labels is not null);
            }
            catch (ArgumentException)
            {
                // Unlabelled images, or other classes than the model's: agreement only.
            }
        }
        using var session = new EfficientNetOnnxSession(floatModel, Output, parallelism: 1);
        Score(session, int.MaxValue, (output, label) => _reference.Add((output.ToArray(), label)));
        if (_reference.Count == 0) throw new InvalidDataException("None of the calibration images could be read.");
    }

    /// <summary>The output compared: <c>logits</c> when the model has it, else its first output.</summary>
    public string Output { get; }

    /// <summary>Whether the output is logits, so top-1 agreement and a drop can be measured.</summary>
    public bool HasLogits => Output == OnnxExportOptions.LogitsOutputName;

    /// <summary>Images the float model scored.</summary>
    public int Images => _reference.Count;

    /// <summary>Scores <paramref name="int8Model"/> on the first <paramref name="maxImages"/> images and compares it with the float model.</summary>
    public Int8Comparison Compare(byte[] int8Model, int maxImages = int.MaxValue)
    {
        using var session = new EfficientNetOnnxSession(int8Model, Output, parallelism: 1);
        int count = 0, agree = 0, rightFloat = 0, rightInt8 = 0;
        double cosine = 0, squared = 0;
        Score(session, maxImages, (y, label) =>
        {
            var x = _reference[count].Output;
            cosine += TensorPrimitives.CosineSimilarity(x, y);
            for (int k = 0; k < x.Length; k++) squared += (x[k] - y[k]) * (double)(x[k] - y[k]) / x.Length;
            if (HasLogits)
            {
                int cx = TensorPrimitives.IndexOfMax(x), cy = TensorPrimitives.IndexOfMax(y);
                if (cx == cy) agree++;
                if (_map is not null)
                {
                    long target = _map[label];
                    if (cx == target) rightFloat++;
                    if (cy == target) rightInt8++;
                }
            }
            count++;
        });
        return new Int8Comparison(count, HasLogits ? agree / (double)count : null, cosine / count, squared / count,
            _map is null ? null : rightFloat / (double)count, _map is null ? null : rightInt8 / (double)count);
    }

    private void Score(EfficientNetOnnxSession session, int maxImages, Action<ReadOnlySpan<float>, long> row)
    {
        int width = session.OutputWidth, seen = 0;
        var output = new float[_batchSize * width];
        foreach (var batch in _batches())
        {
            if (seen >= maxImages) break;
            session.Score(batch.Pixels, batch.Count, output);
            for (int i = 0; i < batch.Count && seen < maxImages; i++, seen++) row(output.AsSpan(i * width, width), batch.Labels[i]);
        }
    }
}
