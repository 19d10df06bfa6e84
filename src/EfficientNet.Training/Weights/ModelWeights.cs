using EfficientNet.Training.Modules;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Weights;
using static TorchSharp.torch;

namespace EfficientNet.Training.Weights;

/// <summary>Moves weights between checkpoints (plain float arrays, canonical keys) and live TorchSharp modules.</summary>
internal static class ModelWeights
{
    /// <summary>
    /// Builds a model for a checkpoint: its spec (variant, class count) and its source's padding and batch-norm eps, with
    /// the checkpoint's tensors loaded. A replaced head (<see cref="EfficientNetCheckpoint.HeadReplaced"/>) keeps its fresh initialisation.
    /// </summary>
    /// <param name="checkpoint">Checked weights from <see cref="EfficientNetCheckpoint.Load(string, Microsoft.ML.EfficientNet.Architecture.EfficientNetVariant, CheckpointLoadOptions?)"/>.</param>
    /// <param name="activation">Makes each SiLU; default plain SiLU.</param>
    public static EfficientNetModel CreateModel(EfficientNetCheckpoint checkpoint, ActivationFactory? activation = null)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var model = new EfficientNetModel(checkpoint.Spec, checkpoint.Source, activation);
        try
        {
            Load(model, checkpoint.Weights);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Copies tensors under canonical keys into a model. Every model tensor present in <paramref name="weights"/> is
    /// overwritten; absent ones keep their values. Shapes must agree.
    /// </summary>
    /// <param name="model">The model to fill.</param>
    /// <param name="weights">Tensors under canonical (torchvision) keys.</param>
    /// <exception cref="InvalidDataException">A tensor has another shape; the message names the key and both shapes.</exception>
    public static void Load(EfficientNetModel model, StateDict weights)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(weights);
        using var noGrad = no_grad();
        foreach (var (key, target) in model.state_dict())
        {
            if (!weights.TryGetValue(key, out var source)) continue;
            if (!source.HasShape(target.shape))
                throw new InvalidDataException($"Tensor '{key}' has shape {source.ShapeText} in {weights.Source} but the model needs {TensorSpec.FormatShape(target.shape)}.");
            using var value = tensor(source.Values, target.shape, dtype: ScalarType.Float32);
            if (target.dtype == ScalarType.Float32) target.copy_(value);
            else
            {
                using var converted = value.to_type(target.dtype);
                target.copy_(converted);
            }
        }
        // A module's finalizer frees its tensors: the caller's last reference may be this argument.
        GC.KeepAlive(model);
    }

    /// <summary>The model's state dict as float arrays under canonical keys (for ONNX export or safetensors).</summary>
    /// <param name="model">The model.</param>
    /// <param name="source">A description for messages; default <c>model</c>.</param>
    public static StateDict ToStateDict(EfficientNetModel model, string source = "model")
    {
        ArgumentNullException.ThrowIfNull(model);
        var entries = new List<KeyValuePair<string, WeightTensor>>();
        var live = model.state_dict();
        // In the spec's (torchvision's) order; TorchSharp lists parameters before buffers.
        foreach (var spec in model.Spec.StateDict)
        {
            // The scope keeps the chain's temporaries referenced (and frees them): an unreferenced TorchSharp tensor can be
            // finalised while libtorch still reads it.
            using var scope = NewDisposeScope();
            var value = live[spec.Name];
            var cpu = value.detach().cpu().to_type(ScalarType.Float32).contiguous();
            entries.Add(new(spec.Name, new WeightTensor(cpu.shape, cpu.data<float>().ToArray(), value.dtype == ScalarType.Int64 ? "int64" : "float32")));
        }
        GC.KeepAlive(model); // see Load
        return new StateDict(entries, source);
    }

    /// <summary>The model's weights as a checkpoint that the ONNX writer and featurizer accept.</summary>
    /// <param name="model">The model.</param>
    public static EfficientNetCheckpoint ToCheckpoint(EfficientNetModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return EfficientNetCheckpoint.FromCanonical(model.Spec, ToStateDict(model), model.Source);
    }
}
