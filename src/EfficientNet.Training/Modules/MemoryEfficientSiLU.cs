using static TorchSharp.torch;

namespace EfficientNet.Training.Modules;

/// <summary>
/// SiLU, x·σ(x), through a custom autograd function that keeps only x for the backward pass and recomputes σ(x)
/// there (lukemelas' "memory-efficient Swish"). Same values and gradients as <c>nn.SiLU</c>; it cannot be exported to
/// ONNX by tracing, which does not matter here because the ONNX writer works from the spec.
/// </summary>
internal sealed class MemoryEfficientSiLU : nn.Module<Tensor, Tensor>
{
    /// <summary>Creates the module.</summary>
    public MemoryEfficientSiLU() : base(nameof(MemoryEfficientSiLU))
    {
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input) => SiLUFunction.apply(input);

    private sealed class SiLUFunction : autograd.SingleTensorFunction<SiLUFunction>
    {
        public override string Name => "MemoryEfficientSiLU";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var x = (Tensor)vars[0];
            ctx.save_for_backward([x]);
            using var noGrad = no_grad();
            return nn.functional.silu(x);
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
        {
            var x = ctx.get_saved_variables()[0];
            using var scope = NewDisposeScope();
            // d/dx x·σ(x) = σ(x)·(1 + x·(1 − σ(x)))
            var s = x.sigmoid();
            var one = HeldScalars.One;
            var gradient = grad_output * s * (s.neg().add_(one, one).mul_(x).add_(one, one));
            return [gradient.MoveToOuterDisposeScope()];
        }
    }
}
