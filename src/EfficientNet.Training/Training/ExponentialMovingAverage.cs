using EfficientNet.Training.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientNet.Training.Training;

/// <summary>
/// An exponential moving average of a model's weights, kept in a second model of the same layout (in evaluation mode)
/// that validation and the export use instead of the trained one. Parameters are averaged; buffers (batch-norm
/// statistics, step counters) are copied from the model, whose statistics already are running averages.
/// </summary>
internal sealed class ExponentialMovingAverage : IDisposable
{
    private readonly List<(Tensor Ema, Tensor Model, bool Average)> _pairs = [];
    private readonly double _decay;

    /// <summary>Builds the average model and starts it equal to <paramref name="model"/>.</summary>
    /// <param name="model">The trained model, already on its device and in its memory format.</param>
    /// <param name="average">A fresh model of the same layout; this object owns and disposes it.</param>
    /// <param name="decay">Decay in (0, 1), for example 0.999.</param>
    /// <param name="channelsLast">Whether <paramref name="model"/> uses channels-last tensors.</param>
    /// <param name="device">The device of <paramref name="model"/>.</param>
    public ExponentialMovingAverage(EfficientNetModel model, EfficientNetModel average, double decay, bool channelsLast, Device device)
    {
        Model = average;
        _decay = decay;
        if (channelsLast) Model.ToChannelsLast();
        Model.to(device);
        Model.eval();
        var emaState = Model.state_dict();
        foreach (var (name, value) in model.state_dict())
        {
            var target = emaState[name];
            target.requires_grad = false;
            _pairs.Add((target, value, value.is_floating_point() && model.named_parameters().Any(p => p.name == name)));
        }
        CopyFromModel();
    }

    /// <summary>The averaged model.</summary>
    public EfficientNetModel Model { get; }

    /// <summary>
    /// Moves the average towards the model after an optimiser step. The decay warms up as TensorFlow's
    /// <c>ExponentialMovingAverage</c> with <c>num_updates</c> does, min(decay, (1 + t) / (10 + t)), so the first
    /// averages are not dominated by the starting weights.
    /// </summary>
    /// <param name="optimizerSteps">Optimiser steps taken so far (t).</param>
    public void Update(long optimizerSteps)
    {
        double decay = Math.Min(_decay, (1.0 + optimizerSteps) / (10.0 + optimizerSteps));
        using var noGrad = no_grad();
        using var s = new HeldScalars();
        Scalar keep = s[decay], take = s[1 - decay];
        foreach (var (ema, model, average) in _pairs)
        {
            if (average) ema.mul_(keep).add_(model, alpha: take);
            else ema.copy_(model);
        }
    }

    /// <summary>Sets the average equal to the model.</summary>
    public void CopyFromModel()
    {
        using var noGrad = no_grad();
        foreach (var (ema, model, _) in _pairs) ema.copy_(model);
    }

    /// <summary>Disposes the averaged model.</summary>
    public void Dispose() => Model.Dispose();
}
