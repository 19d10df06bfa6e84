using Google.Protobuf;
using Onnx;
using Microsoft.ML.EfficientNet.Runtime;

namespace Microsoft.ML.EfficientNet.Quantization;

/// <summary>An activation's calibrated range and its mean per channel (null when unknown).</summary>
internal sealed record ActivationRange(float Low, float High, double[]? ChannelMeans);

/// <summary>
/// Observes the float values of chosen activations over calibration batches and turns them into ranges: a copy of the
/// model with those activations as extra outputs, run by ONNX Runtime; one pass for the minimum and maximum, a second
/// for a histogram over that span when the method needs the distribution.
/// </summary>
/// <remarks>
/// Written here because no .NET library calibrates ONNX models (ONNX Runtime's calibrators are Python). The calibration
/// session is an <see cref="EfficientNetOnnxSession"/>, the one session owner, opened and disposed inside
/// <see cref="Calibrate"/>.
/// </remarks>
internal static class ActivationCalibrator
{
    /// <summary>Bins of each activation's histogram (as ONNX Runtime's histogram calibrators use by default).</summary>
    public const int HistogramBins = 2048;

    /// <summary>Levels on each side of zero the entropy search quantises to (int8's 128, as TensorRT's KL calibration does).</summary>
    private const int QuantizedLevels = 128;

    /// <summary>
    /// The range [low, high] of each activation, with zero inside it (an exact zero keeps padding exact), and its mean per
    /// channel (axis 1), which the rewriter uses to correct the bias that rounding the weights adds.
    /// </summary>
    /// <param name="model">The float model.</param>
    /// <param name="activations">Activations to observe.</param>
    /// <param name="batches">Makes the calibration batches again for each pass: pixels as the model's input takes them, and the image count.</param>
    /// <param name="method">How a range is chosen.</param>
    /// <param name="percentile">For <see cref="CalibrationMethod.Percentile"/>: share of each tail kept, in percent.</param>
    /// <param name="fullRange">Activations given their minimum and maximum whatever <paramref name="method"/> says.</param>
    /// <param name="images">The calibration images read (unreadable ones are skipped).</param>
    public static Dictionary<string, ActivationRange> Calibrate(ModelProto model, IReadOnlyList<string> activations,
        Func<IEnumerable<(float[] Pixels, int Count)>> batches, CalibrationMethod method, double percentile, IReadOnlySet<string> fullRange, out int images)
    {
        var observed = model.Clone();
        var declared = observed.Graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        foreach (string name in activations.Where(a => !declared.Contains(a)))
        {
            observed.Graph.Output.Add(new ValueInfoProto
            {
                Name = name,
                Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float } },
            });
        }

        // The first declared output ([N, width]: features or logits) is the one the session owner checks; the observed
        // activations are read beside it.
        using var session = new EfficientNetOnnxSession(observed.ToByteArray(), model.Graph.Output[0].Name, featureMapOutputName: null, parallelism: 1);

        var stats = activations.ToDictionary(a => a, _ => new Statistics(), StringComparer.Ordinal);
        int Pass(Observation observe)
        {
            int read = 0;
            foreach (var (pixels, count) in batches())
            {
                session.Observe(pixels, count, activations, (name, values, dimensions) => observe(stats[name], values, dimensions.Length >= 2 ? (int)dimensions[1] : 1));
                read += count;
            }
            if (read == 0) throw new InvalidDataException("None of the calibration images could be read.");
            return read;
        }

        images = Pass((s, values, channels) => s.ObserveRange(values, channels));
        if (method != CalibrationMethod.MinMax) Pass((s, values, _) => s.ObserveHistogram(values));
        return stats.ToDictionary(p => p.Key, p =>
        {
            var (low, high) = p.Value.Range(fullRange.Contains(p.Key) ? CalibrationMethod.MinMax : method, percentile);
            return new ActivationRange(low, high, p.Value.ChannelMeans());
        }, StringComparer.Ordinal);
    }

    private delegate void Observation(Statistics statistics, ReadOnlySpan<float> values, int channels);

    private sealed class Statistics
    {
        private float _min = float.PositiveInfinity, _max = float.NegativeInfinity;
        private long[]? _histogram;
        private double[]? _channelSums;
        private long _perChannel;

        public void ObserveRange(ReadOnlySpan<float> values, int channels)
        {
            if (values.IsEmpty) return;
            _min = Math.Min(_min, System.Numerics.Tensors.TensorPrimitives.Min(values));
            _max = Math.Max(_max, System.Numerics.Tensors.TensorPrimitives.Max(values));
            // [N, C, ...]: each channel's values are runs of length `plane` inside each image.
            _channelSums ??= new double[channels];
            if (_channelSums.Length != channels) return;
            int plane = values.Length / channels;
            int images = values.Length / (channels * plane);
            for (int n = 0; n < images; n++)
                for (int c = 0; c < channels; c++)
                    _channelSums[c] += System.Numerics.Tensors.TensorPrimitives.Sum(values.Slice((n * channels + c) * plane, plane));
            _perChannel += (long)images * plane;
        }

        public double[]? ChannelMeans() => _channelSums is null || _perChannel == 0 ? null : _channelSums.Select(s => s / _perChannel).ToArray();

        public void ObserveHistogram(ReadOnlySpan<float> values)
        {
            _histogram ??= new long[HistogramBins];
            double low = Low, width = BinWidth;
            foreach (float v in values)
            {
                int bin = (int)((v - low) / width);
                _histogram[Math.Clamp(bin, 0, HistogramBins - 1)]++;
            }
        }

        // Zero is always inside the span, so the bin holding zero splits the two sides.
        private float Low => Math.Min(_min, 0f);

        private float High => Math.Max(_max, 0f);

        private double BinWidth => Math.Max(High - Low, 1e-12) / HistogramBins;

        public (float Low, float High) Range(CalibrationMethod method, double percentile)
        {
            if (float.IsInfinity(_min) || float.IsNaN(_min) || float.IsNaN(_max))
                throw new InvalidDataException("An activation took no finite values on the calibration images.");
            if (method == CalibrationMethod.MinMax || _histogram is null) return (Low, High);
            int zero = Math.Clamp((int)(-Low / BinWidth), 0, HistogramBins - 1);
            int lowBin, highBin;
            if (method == CalibrationMethod.Percentile)
            {
                double tail = (100.0 - percentile) / 100.0 * _histogram.Sum();
                lowBin = Math.Min(TailBin(_histogram, tail, fromTop: false), zero);
                highBin = Math.Max(TailBin(_histogram, tail, fromTop: true), zero);
            }
            else
            {
                highBin = zero + EntropyThreshold(_histogram.AsSpan(zero)) - 1;
                var negative = _histogram.AsSpan(0, zero + 1).ToArray();
                Array.Reverse(negative);
                lowBin = zero - (EntropyThreshold(negative) - 1);
            }
            float low = lowBin <= 0 ? Low : (float)(Low + lowBin * BinWidth);
            float high = highBin >= HistogramBins - 1 ? High : (float)(Low + (highBin + 1) * BinWidth);
            return (Math.Min(low, 0f), Math.Max(high, 0f));
        }

        /// <summary>The first bin (from the bottom or the top) past which fewer than <paramref name="tail"/> values lie.</summary>
        private static int TailBin(long[] histogram, double tail, bool fromTop)
        {
            double sum = 0;
            for (int k = 0; k < histogram.Length; k++)
            {
                int bin = fromTop ? histogram.Length - 1 - k : k;
                sum += histogram[bin];
                if (sum > tail) return bin;
            }
            return fromTop ? 0 : histogram.Length - 1;
        }
    }

    /// <summary>
    /// The number of bins of a one-sided histogram (bin 0 at zero) to keep so that quantising the kept part to
    /// <see cref="QuantizedLevels"/> levels, with the clipped tail folded into the last bin, diverges least from it.
    /// </summary>
    internal static int EntropyThreshold(ReadOnlySpan<long> histogram)
    {
        int bins = histogram.Length;
        if (bins <= QuantizedLevels) return bins;
        long total = 0;
        foreach (long c in histogram) total += c;
        if (total == 0) return bins;
        // Candidates every few bins: the divergence changes slowly and the full search is quadratic.
        int step = Math.Max(1, (bins - QuantizedLevels) / 256);
        double best = double.PositiveInfinity;
        int bestBins = bins;
        var reference = new double[bins];
        var expanded = new double[bins];
        for (int kept = QuantizedLevels; kept <= bins; kept += step)
        {
            long outliers = 0;
            for (int i = kept; i < bins; i++) outliers += histogram[i];
            for (int i = 0; i < kept; i++) reference[i] = histogram[i];
            reference[kept - 1] += outliers;

            // Merge the kept bins into QuantizedLevels levels and spread each level evenly over its non-empty bins.
            for (int level = 0; level < QuantizedLevels; level++)
            {
                int start = level * kept / QuantizedLevels, end = (level + 1) * kept / QuantizedLevels;
                double sum = 0;
                int nonEmpty = 0;
                for (int i = start; i < end; i++)
                {
                    sum += histogram[i];
                    if (histogram[i] != 0) nonEmpty++;
                }
                for (int i = start; i < end; i++) expanded[i] = histogram[i] != 0 ? sum / nonEmpty : 0;
            }

            double divergence = 0, p = 0, q = 0;
            for (int i = 0; i < kept; i++)
            {
                p += reference[i];
                q += expanded[i];
            }
            for (int i = 0; i < kept; i++)
            {
                if (reference[i] == 0) continue;
                double pi = reference[i] / p, qi = expanded[i] / q;
                divergence += qi == 0 ? pi * 20 : pi * Math.Log(pi / qi);
            }
            if (divergence < best)
            {
                best = divergence;
                bestBins = kept;
            }
        }
        return bestBins;
    }
}
