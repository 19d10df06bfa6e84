using System.Globalization;
using System.Reflection;
using System.Text.Json;
using Google.Protobuf;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.IO;
using Microsoft.ML.EfficientNet.Preprocessing;
using Microsoft.ML.EfficientNet.Weights;
using Onnx;

namespace Microsoft.ML.EfficientNet.Onnx;

/// <summary>
/// Writes an EfficientNet as an ONNX model in managed code, from the architecture spec and a checkpoint: batch norm
/// folded into the convolutions, SiLU as Sigmoid·Mul (ReLU6 as Clip in Lite), TF SAME padding as static pads, opset 17, dynamic batch, fixed
/// H×W. TorchSharp cannot export ONNX; this writer needs no Python and no TorchSharp.
/// </summary>
public static class EfficientNetOnnxExporter
{
    /// <summary>ONNX opset the graphs use.</summary>
    public const int OpsetVersion = 17;

    /// <summary>ONNX IR version of the files (IR 8 goes with opset 17).</summary>
    public const int IrVersion = 8;

    private const string BatchDimension = "batch";

    /// <summary>Serialises the model to ONNX bytes.</summary>
    /// <param name="checkpoint">Weights checked against their spec.</param>
    /// <param name="options">Outputs, preprocessing, resolution and labels; default logits with the source's preprocessing.</param>
    internal static byte[] Export(EfficientNetCheckpoint checkpoint, OnnxExportOptions? options = null) => CreateModel(checkpoint, options).ToByteArray();

    /// <summary>Writes the model to a file atomically (temporary file in the same folder, then rename).</summary>
    /// <param name="checkpoint">Weights checked against their spec.</param>
    /// <param name="path">The .onnx file to write.</param>
    /// <param name="options">Outputs, preprocessing, resolution and labels.</param>
    internal static void Export(EfficientNetCheckpoint checkpoint, string path, OnnxExportOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        AtomicFile.WriteAllBytes(path, Export(checkpoint, options));
    }

    /// <summary>
    /// Reads a checkpoint (.safetensors or .pth: a run's <c>model.safetensors</c>, torchvision's or timm's files), checks
    /// it against its variant (the one its recipe records, else the one its shapes identify) and writes the ONNX model
    /// atomically.
    /// </summary>
    /// <param name="weightsPath">The checkpoint file.</param>
    /// <param name="outputPath">The .onnx file to write; it must not be <paramref name="weightsPath"/>.</param>
    /// <param name="options">Outputs, preprocessing, resolution and labels; default logits with the checkpoint's recipe.</param>
    /// <exception cref="CheckpointMismatchException">The weights do not fit their variant: every problem key is named.</exception>
    /// <exception cref="InvalidDataException">The file is not a readable checkpoint.</exception>
    public static void Export(string weightsPath, string outputPath, OnnxExportOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(weightsPath);
        ArgumentException.ThrowIfNullOrEmpty(outputPath);
        if (FileStat.SameFile(weightsPath, outputPath))
            throw new ArgumentException($"The ONNX output '{outputPath}' is the checkpoint being read; choose another file.", nameof(outputPath));
        Export(EfficientNetCheckpoint.Load(weightsPath), outputPath, options);
    }

    /// <summary>
    /// <paramref name="model"/> with its output <paramref name="outputName"/> [N, <paramref name="width"/>] reshaped to
    /// [<paramref name="width"/>], for ML.NET's <c>ApplyOnnxModel</c>: it scores one row at a time and types an
    /// [N, width] output as <c>Vector&lt;Single, 1, width&gt;</c>, where a rank-1 output gives the flat
    /// <c>Vector&lt;Single, width&gt;</c> users expect. The featurizer's <c>StandardChain</c> scores such a model.
    /// </summary>
    /// <param name="model">An exported model, for example with <see cref="OnnxOutputs.Features"/>.</param>
    /// <param name="outputName">The output to reshape, for example <see cref="OnnxExportOptions.FeaturesOutputName"/>.</param>
    /// <param name="width">Its width (the metadata's feature width or class count).</param>
    /// <remarks>
    /// Public for <c>efficientnet bench</c>, whose plain ML.NET chain (<c>ApplyOnnxModel</c> with fixed threads) scores
    /// it from outside this assembly; whether it stays in the public surface is for the review of that surface to decide.
    /// </remarks>
    internal static byte[] WithRowOutput(byte[] model, string outputName, int width)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(outputName);
        return OnnxModelEditing.WithRowOutput(model, outputName, width);
    }

    /// <summary>
    /// The ONNX model that <paramref name="model"/> names, for commands and APIs that score: an <c>.onnx</c> file as it is;
    /// a run folder's <c>model.onnx</c>; the ONNX model inside an ML.NET <c>model.zip</c> saved from this library's
    /// pipelines; or a checkpoint (<c>.safetensors</c>, <c>.pth</c>) exported here with logits and
    /// features, and with the preprocessing and labels the file records (a run's <c>model.safetensors</c> then scores as its
    /// <c>model.onnx</c> does; a published file gets its published recipe and no labels).
    /// </summary>
    /// <param name="model">The model file or run folder.</param>
    /// <exception cref="FileNotFoundException">Nothing is at <paramref name="model"/>.</exception>
    /// <exception cref="ArgumentException">A checkpoint whose variant neither a recorded recipe nor its shapes name.</exception>
    public static byte[] ReadOrExport(string model)
    {
        ArgumentException.ThrowIfNullOrEmpty(model);
        string path = RunFolder.ModelPathOf(model);
        if (!File.Exists(path)) throw new FileNotFoundException($"Model '{path}' does not exist.", path);
        var kind = CheckpointFileKind.Detect(path);
        if (kind is not (CheckpointFileKind.Kind.SafeTensors or CheckpointFileKind.Kind.TorchZip or CheckpointFileKind.Kind.TorchLegacy))
            return FileStat.ReadAllBytes(path, "model");
        if (kind == CheckpointFileKind.Kind.TorchZip && MLNetModelZip.TryReadOnnx(path) is { } embedded) return embedded;
        return Export(EfficientNetCheckpoint.Load(path), new OnnxExportOptions { Outputs = OnnxOutputs.LogitsAndFeatures });
    }

    internal static ModelProto CreateModel(EfficientNetCheckpoint checkpoint, OnnxExportOptions? options)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        options ??= new OnnxExportOptions();
        var spec = checkpoint.Spec;
        if (options.Bare && options.Outputs != OnnxOutputs.Logits)
            throw new ArgumentException("A bare model has exactly one output, logits: do not ask for features with Bare.", nameof(options));
        if (options.Outputs.HasFlag(OnnxOutputs.Logits) && checkpoint.HeadReplaced)
            throw new ArgumentException($"The checkpoint's classifier was replaced ({checkpoint.Origin}) and has no trained weights: export features only.", nameof(options));
        if (options.Outputs == 0) throw new ArgumentException("Ask for at least one output.", nameof(options));
        if (options.Labels is { } labels && labels.Count != spec.NumClasses)
            throw new ArgumentException($"{labels.Count} labels were given for a classifier with {spec.NumClasses} classes.", nameof(options));
        // The labels a weights file records describe its classifier; a features-only model has none.
        var recordedLabels = options.Labels ?? (options.Outputs.HasFlag(OnnxOutputs.Logits) ? checkpoint.Labels : null);

        var recipe = options.Preprocessing ?? checkpoint.Preprocessing;
        if (options.Resolution is { } resolution)
        {
            if (resolution < 32) throw new ArgumentOutOfRangeException(nameof(options), resolution, "Resolution must be at least 32 pixels.");
            recipe = recipe.WithCropSize(resolution);
        }

        var builder = new OnnxGraphBuilder();
        var graph = builder.Graph;
        graph.Name = $"efficientnet_{spec.Variant.Name}";
        string x;
        if (options.Bare)
        {
            graph.Input.Add(OnnxGraphBuilder.FloatTensor(OnnxExportOptions.NormalizedInputName, BatchDimension, 3, recipe.CropSize, recipe.CropSize));
            x = OnnxExportOptions.NormalizedInputName;
        }
        else
        {
            graph.Input.Add(OnnxGraphBuilder.FloatTensor(OnnxExportOptions.ImageInputName, BatchDimension, 3, recipe.ResizeSize, recipe.ResizeSize));
            x = AddPreprocessing(builder, OnnxExportOptions.ImageInputName, recipe);
        }

        var network = new NetworkWriter(builder, checkpoint);
        string features = network.Features(x, recipe.CropSize, options.Outputs.HasFlag(OnnxOutputs.Features) ? OnnxExportOptions.FeaturesOutputName : null);
        if (options.Outputs.HasFlag(OnnxOutputs.Features))
            graph.Output.Add(OnnxGraphBuilder.FloatTensor(OnnxExportOptions.FeaturesOutputName, BatchDimension, spec.HeadChannels));
        if (options.Outputs.HasFlag(OnnxOutputs.Logits))
        {
            network.Classifier(features, OnnxExportOptions.LogitsOutputName);
            graph.Output.Add(OnnxGraphBuilder.FloatTensor(OnnxExportOptions.LogitsOutputName, BatchDimension, spec.NumClasses));
        }

        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "EfficientNetML",
            ProducerVersion = typeof(EfficientNetOnnxExporter).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0",
            Domain = "ai.efficientnetml",
            DocString = $"EfficientNet-{spec.Variant.Name} ({spec.NumClasses} classes) from {Path.GetFileName(checkpoint.Origin)}",
            Graph = graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = OpsetVersion });
        var metadata = new OnnxModelMetadata(spec.Variant.Name, spec.NumClasses, spec.HeadChannels, recipe, options.Bare,
            recordedLabels, WeightFormats.ToName(checkpoint.Source.Format), Path.GetFileName(checkpoint.Origin), checkpoint.Sha256,
            checkpoint.Source.Padding, checkpoint.Source.BatchNormEpsilon);
        foreach (var (key, value) in metadata.ToProperties())
            model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        return model;
    }

    private static string AddPreprocessing(OnnxGraphBuilder builder, string input, PreprocessingRecipe recipe)
    {
        string x = input;
        if (recipe.ResizeSize != recipe.CropSize)
        {
            // Centre crop of the resize×resize square (ML.NET's IsoCrop resize gives the square; there is no crop-only transform).
            long start = recipe.CropOffset, end = start + recipe.CropSize;
            x = builder.Node("Slice", "cropped", [x, builder.Int64Initializer("crop_starts", start, start),
                builder.Int64Initializer("crop_ends", end, end), builder.Int64Initializer("crop_axes", 2, 3)]);
        }
        // (x/255 − mean)/std as one multiply-add per channel, with the recipe's own constants (shared with training).
        var (scale, shift) = recipe.NormalizationConstants();
        x = builder.Node("Mul", "scaled", [x, builder.Initializer("normalize_scale", [1, 3, 1, 1], scale)]);
        return builder.Node("Add", "normalized", [x, builder.Initializer("normalize_shift", [1, 3, 1, 1], shift)]);
    }

    /// <summary>Emits the layers of a spec, folding each batch norm into the convolution before it.</summary>
    private sealed class NetworkWriter(OnnxGraphBuilder builder, EfficientNetCheckpoint checkpoint)
    {
        private readonly EfficientNetSpec _spec = checkpoint.Spec;
        private readonly StateDict _weights = checkpoint.Weights;
        private readonly WeightSource _source = checkpoint.Source;

        public string Features(string x, int resolution, string? outputName)
        {
            int size = resolution;
            x = Unit(x, _spec.Stem, ref size);
            foreach (var block in _spec.Blocks)
            {
                string input = x;
                if (block.Expand is not null) x = Unit(x, block.Expand, ref size);
                if (block.Depthwise is not null) x = Unit(x, block.Depthwise, ref size);
                if (block.SqueezeExcitation is not null) x = SqueezeExcitation(x, block.SqueezeExcitation);
                x = Unit(x, block.Project, ref size);
                // Stochastic depth is the identity at inference.
                if (block.HasResidual) x = builder.Node("Add", block.Name + ".out", [x, input]);
            }
            x = Unit(x, _spec.Head, ref size);
            string pooled = builder.Node("GlobalAveragePool", "pooled", [x]);
            if (outputName is null) return builder.Node("Flatten", "flat_features", [pooled], OnnxGraphBuilder.Int("axis", 1));
            builder.NamedNode("Flatten", outputName, [pooled], OnnxGraphBuilder.Int("axis", 1));
            return outputName;
        }

        public void Classifier(string features, string outputName)
        {
            var linear = _spec.Classifier;
            string weight = builder.Initializer(linear.Name + ".weight", [linear.OutputFeatures, linear.InputFeatures], Tensor(linear.Name + ".weight").Values);
            string bias = builder.Initializer(linear.Name + ".bias", [linear.OutputFeatures], Tensor(linear.Name + ".bias").Values);
            builder.NamedNode("Gemm", outputName, [features, weight, bias], OnnxGraphBuilder.Int("transB", 1));
        }

        private string Unit(string x, ConvNormActivationSpec unit, ref int size)
        {
            var conv = unit.Conv;
            var (weight, bias) = FoldBatchNorm(conv, unit.NormName);
            var (top, bottom) = ConvPadding.Compute(_source.Padding, size, conv.KernelSize, conv.Stride);
            size = ConvPadding.OutputSize(_source.Padding, size, conv.KernelSize, conv.Stride);
            x = builder.Node("Conv", conv.Name, [x, builder.Initializer(conv.Name + ".weight", conv.WeightShape, weight), builder.Initializer(conv.Name + ".bias", [conv.OutputChannels], bias)],
                OnnxGraphBuilder.Ints("kernel_shape", conv.KernelSize, conv.KernelSize),
                OnnxGraphBuilder.Ints("strides", conv.Stride, conv.Stride),
                // Square input: the same pads along both axes, [top, left, bottom, right].
                OnnxGraphBuilder.Ints("pads", top, top, bottom, bottom),
                OnnxGraphBuilder.Int("group", conv.Groups));
            return unit.HasActivation ? Activation(x, conv.Name) : x;
        }

        private string SqueezeExcitation(string x, SqueezeExcitationSpec se)
        {
            string scale = builder.Node("GlobalAveragePool", se.Name + ".pool", [x]);
            scale = Activation(Conv1x1(scale, se.Reduce), se.Reduce.Name);
            scale = builder.Node("Sigmoid", se.Name + ".gate", [Conv1x1(scale, se.Expand)]);
            return builder.Node("Mul", se.Name + ".out", [x, scale]);
        }

        private string Conv1x1(string x, ConvSpec conv) => builder.Node("Conv", conv.Name,
            [x, builder.Initializer(conv.Name + ".weight", conv.WeightShape, Tensor(conv.Name + ".weight").Values),
                builder.Initializer(conv.Name + ".bias", [conv.OutputChannels], Tensor(conv.Name + ".bias").Values)],
            OnnxGraphBuilder.Ints("kernel_shape", 1, 1));

        private string? _relu6Min, _relu6Max;

        // SiLU(x) = x·σ(x): opset 17 has no SiLU operator. ReLU6 (Lite) is Clip(x, 0, 6), which ONNX Runtime fuses into
        // the convolution before it, in float and in int8 alike.
        private string Activation(string x, string name)
        {
            if (_spec.Activation == ActivationKind.SiLU)
                return builder.Node("Mul", name + ".silu", [x, builder.Node("Sigmoid", name + ".sigmoid", [x])]);
            _relu6Min ??= builder.Initializer("relu6_min", [], [0f]);
            _relu6Max ??= builder.Initializer("relu6_max", [], [6f]);
            return builder.Node("Clip", name + ".relu6", [x, _relu6Min, _relu6Max]);
        }

        /// <summary>W' = W·γ/√(σ²+ε) per output channel, b' = β − μ·γ/√(σ²+ε), computed in double precision.</summary>
        private (float[] Weight, float[] Bias) FoldBatchNorm(ConvSpec conv, string norm)
        {
            float[] w = Tensor(conv.Name + ".weight").Values;
            float[] gamma = Tensor(norm + ".weight").Values, beta = Tensor(norm + ".bias").Values;
            float[] mean = Tensor(norm + ".running_mean").Values, variance = Tensor(norm + ".running_var").Values;
            int outputs = conv.OutputChannels, perOutput = w.Length / outputs;
            var weight = new float[w.Length];
            var bias = new float[outputs];
            for (int o = 0; o < outputs; o++)
            {
                double scale = gamma[o] / Math.Sqrt(variance[o] + _source.BatchNormEpsilon);
                for (int i = 0; i < perOutput; i++) weight[o * perOutput + i] = (float)(w[o * perOutput + i] * scale);
                bias[o] = (float)(beta[o] - mean[o] * scale);
            }
            return (weight, bias);
        }

        private WeightTensor Tensor(string key) => _weights.TryGetValue(key, out var t) ? t
            : throw new InvalidOperationException($"Tensor '{key}' is missing from {_weights.Source}; the checkpoint was not checked against the spec.");
    }
}
