using static TorchSharp.torch;

namespace EfficientNet.Training.Modules;

/// <summary>
/// Stochastic depth ("drop path", Huang et al. 2016) in row mode: during training each sample's residual branch is
/// dropped with probability p and the survivors scaled by 1/(1−p); identity at evaluation. Holds no tensors.
/// </summary>
internal sealed class StochasticDepth : nn.Module<Tensor, Tensor>
{
    /// <summary>Creates the module.</summary>
    /// <param name="probability">Drop probability p in [0, 1).</param>
    public StochasticDepth(double probability) : base(nameof(StochasticDepth))
    {
        if (!(probability >= 0 && probability < 1)) throw new ArgumentOutOfRangeException(nameof(probability), probability, "Must be in [0, 1).");
        Probability = probability;
    }

    /// <summary>Drop probability during training.</summary>
    public double Probability { get; }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        if (!training || Probability == 0) return input.alias();
        using var scope = NewDisposeScope();
        double keep = 1 - Probability;
        using var s = new HeldScalars();
        var mask = empty([input.shape[0], 1, 1, 1], input.dtype, input.device).bernoulli_(keep).div_(s[keep]);
        return (input * mask).MoveToOuterDisposeScope();
    }
}
