using EfficientNet.Training.Modules;
using static TorchSharp.torch;

namespace EfficientNet.Training.Optimizers;

/// <summary>Which update rule trains the network.</summary>
public enum OptimizerKind
{
    /// <summary>AdamW (Loshchilov &amp; Hutter): Adam with decoupled weight decay, as PyTorch's <c>torch.optim.AdamW</c>.</summary>
    AdamW,

    /// <summary>RMSprop as TensorFlow computes it (ε inside the square root, squared averages starting at 1, learning rate inside the momentum): the optimiser EfficientNet was trained with.</summary>
    RmsPropTF,

    /// <summary>SGD with (Nesterov) momentum and coupled weight decay, as PyTorch's <c>torch.optim.SGD</c>.</summary>
    Sgd,
}

/// <summary>The names of the update rules, as the command line takes them (<c>efficientnet train --optimizer</c>).</summary>
internal static class OptimizerKinds
{
    /// <summary>The names, in the order of <see cref="OptimizerKind"/>: <c>adamw</c>, <c>rmsprop-tf</c>, <c>sgd</c>.</summary>
    public static IReadOnlyList<string> Names { get; } = ["adamw", "rmsprop-tf", "sgd"];

    /// <summary>The name of an update rule, for example <c>rmsprop-tf</c>.</summary>
    /// <param name="kind">The update rule.</param>
    public static string ToName(OptimizerKind kind) => Names[(int)kind];

    /// <summary>Parses one of <see cref="Names"/> or a member name of <see cref="OptimizerKind"/> (<c>RmsPropTF</c>), ignoring case.</summary>
    /// <param name="name">The name.</param>
    /// <exception cref="ArgumentException">Unknown name; the message lists the valid ones.</exception>
    public static OptimizerKind Parse(string name) => NameTable.Parse<OptimizerKind>(Names, name, "optimizer");
}

/// <summary>
/// An update rule over parameter groups. Written here rather than taken from TorchSharp so that every state tensor is
/// named (checkpoints store it exactly), momentum can follow a schedule (one-cycle), and TF-style RMSprop exists.
/// </summary>
internal abstract class Optimizer : IDisposable
{
    private readonly Dictionary<string, Tensor> _state = new(StringComparer.Ordinal);

    /// <summary>Creates the optimiser.</summary>
    /// <param name="groups">The parameter groups.</param>
    protected Optimizer(IReadOnlyList<ParameterGroup> groups)
    {
        ArgumentNullException.ThrowIfNull(groups);
        Groups = groups;
    }

    /// <summary>The parameter groups.</summary>
    public IReadOnlyList<ParameterGroup> Groups { get; }

    /// <summary>Updates taken so far.</summary>
    public long StepCount { get; private set; }

    /// <summary>Applies one update to every parameter that has a gradient.</summary>
    /// <param name="learningRate">The schedule's learning rate (each group scales it).</param>
    /// <param name="momentum">The schedule's momentum (β1 for AdamW), or null for the optimiser's own.</param>
    public void Step(double learningRate, double? momentum = null)
    {
        StepCount++;
        using var noGrad = no_grad();
        foreach (var group in Groups)
        {
            double lr = learningRate * group.LearningRateScale;
            foreach (var (name, parameter) in group.Parameters)
            {
                if (parameter.grad is not { } grad) continue;
                using var scope = NewDisposeScope();
                Update(name, parameter, grad, lr, group.WeightDecay, momentum);
            }
        }
    }

    /// <summary>Clears every gradient.</summary>
    public void ZeroGrad()
    {
        foreach (var group in Groups)
            foreach (var (_, parameter) in group.Parameters)
                parameter.grad?.zero_();
    }

    /// <summary>Updates one parameter.</summary>
    protected abstract void Update(string name, Tensor parameter, Tensor grad, double learningRate, double weightDecay, double? momentum);

    /// <summary>Per-parameter update counts (AdamW's bias correction), saved with the state as <c>{parameter}/step</c>.</summary>
    protected Dictionary<string, double> Steps { get; } = new(StringComparer.Ordinal);

    /// <summary>A named state tensor of a parameter, created by <paramref name="create"/> on first use.</summary>
    protected Tensor State(string parameter, string slot, Func<Tensor> create)
    {
        string key = parameter + "/" + slot;
        if (!_state.TryGetValue(key, out var tensor))
        {
            tensor = create().DetachFromDisposeScope();
            _state[key] = tensor;
        }
        return tensor;
    }

    /// <summary>Every state tensor (<c>{parameter}/{slot}</c>) and the step count, for a checkpoint.</summary>
    public (IReadOnlyDictionary<string, Tensor> Tensors, long Steps) SaveState()
    {
        var all = new Dictionary<string, Tensor>(_state, StringComparer.Ordinal);
        foreach (var (name, count) in Steps) all[name + "/step"] = tensor(new[] { count }, dtype: ScalarType.Float64);
        return (all, StepCount);
    }

    /// <summary>Restores state saved by <see cref="SaveState"/>.</summary>
    /// <param name="tensors">State tensors by key (copied).</param>
    /// <param name="steps">Updates taken.</param>
    public void LoadState(IReadOnlyDictionary<string, Tensor> tensors, long steps)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        foreach (var tensor in _state.Values) tensor.Dispose();
        _state.Clear();
        Steps.Clear();
        foreach (var (key, value) in tensors)
        {
            if (key.EndsWith("/step", StringComparison.Ordinal)) Steps[key[..^"/step".Length]] = value.to_type(ScalarType.Float64).item<double>();
            else _state[key] = value.clone().DetachFromDisposeScope();
        }
        StepCount = steps;
    }

    /// <summary>Creates an optimiser of a kind with the usual defaults for fine-tuning EfficientNet.</summary>
    /// <param name="kind">The update rule.</param>
    /// <param name="groups">The parameter groups.</param>
    public static Optimizer Create(OptimizerKind kind, IReadOnlyList<ParameterGroup> groups) => kind switch
    {
        OptimizerKind.AdamW => new AdamW(groups),
        OptimizerKind.RmsPropTF => new RmsPropTF(groups),
        OptimizerKind.Sgd => new SgdMomentum(groups),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown optimiser."),
    };

    /// <summary>Frees the state tensors.</summary>
    public void Dispose()
    {
        foreach (var tensor in _state.Values) tensor.Dispose();
        _state.Clear();
        GC.SuppressFinalize(this);
    }
}

/// <summary>AdamW with PyTorch's arithmetic (bias-corrected moments, decoupled decay p ← p·(1 − lr·wd)).</summary>
internal sealed class AdamW(IReadOnlyList<ParameterGroup> groups, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8) : Optimizer(groups)
{
    /// <inheritdoc />
    protected override void Update(string name, Tensor parameter, Tensor grad, double learningRate, double weightDecay, double? momentum)
    {
        double b1 = momentum ?? beta1;
        var m = State(name, "exp_avg", () => zeros_like(parameter));
        var v = State(name, "exp_avg_sq", () => zeros_like(parameter));
        // The step count lives in C# (reading a tensor back every step costs a native round trip per parameter); it is
        // mirrored into a state tensor only for checkpoints.
        double t = Steps[name] = Steps.GetValueOrDefault(name) + 1;
        using var s = new HeldScalars();
        if (weightDecay != 0) parameter.mul_(s[1 - learningRate * weightDecay]);
        m.mul_(s[b1]).add_(grad, alpha: s[1 - b1]);
        v.mul_(s[beta2]).addcmul_(grad, grad, value: s[1 - beta2]);
        double correction1 = 1 - Math.Pow(b1, t), correction2 = 1 - Math.Pow(beta2, t);
        var denominator = v.sqrt().div_(s[Math.Sqrt(correction2)]).add_(s[epsilon], HeldScalars.One);
        parameter.addcdiv_(m, denominator, value: s[-learningRate / correction1]);
    }
}

/// <summary>
/// RMSprop as TensorFlow and timm's <c>RMSpropTF</c> compute it: squared averages start at 1, ε is added inside the
/// square root, and the learning rate is applied inside the momentum buffer. Decay α 0.9, ε 1e-3, momentum 0.9 as in
/// the EfficientNet paper's training.
/// </summary>
internal sealed class RmsPropTF(IReadOnlyList<ParameterGroup> groups, double alpha = 0.9, double epsilon = 1e-3, double momentum = 0.9) : Optimizer(groups)
{
    /// <inheritdoc />
    protected override void Update(string name, Tensor parameter, Tensor grad, double learningRate, double weightDecay, double? momentumOverride)
    {
        using var s = new HeldScalars();
        var g = weightDecay != 0 ? grad.add(parameter, alpha: s[weightDecay]) : grad;
        var squareAverage = State(name, "square_avg", () => ones_like(parameter));
        squareAverage.mul_(s[alpha]).addcmul_(g, g, value: s[1 - alpha]);
        var average = squareAverage.add(s[epsilon], HeldScalars.One).sqrt_();
        var buffer = State(name, "momentum_buffer", () => zeros_like(parameter));
        buffer.mul_(s[momentumOverride ?? momentum]).addcdiv_(g, average, value: s[learningRate]);
        parameter.add_(buffer, s[-1.0]);
    }
}

/// <summary>SGD with momentum as PyTorch computes it (coupled weight decay, dampening 0, optional Nesterov).</summary>
internal sealed class SgdMomentum(IReadOnlyList<ParameterGroup> groups, double momentum = 0.9, bool nesterov = true) : Optimizer(groups)
{
    /// <inheritdoc />
    protected override void Update(string name, Tensor parameter, Tensor grad, double learningRate, double weightDecay, double? momentumOverride)
    {
        using var s = new HeldScalars();
        double mu = momentumOverride ?? momentum;
        var d = weightDecay != 0 ? grad.add(parameter, alpha: s[weightDecay]) : grad;
        bool first = false;
        var buffer = State(name, "momentum_buffer", () => { first = true; return d.clone(); });
        if (!first) buffer.mul_(s[mu]).add_(d, HeldScalars.One); // PyTorch: the first step's buffer is the gradient itself
        var update = nesterov ? d.add(buffer, alpha: s[mu]) : buffer;
        parameter.add_(update, alpha: s[-learningRate]);
    }
}
