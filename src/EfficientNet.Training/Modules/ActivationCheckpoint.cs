using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EfficientNet.Training.Modules;

/// <summary>
/// Activation checkpointing of one stage: the forward pass keeps only the stage's input; the backward pass runs the
/// stage again with gradients and back-propagates through it. Trades compute for memory, as PyTorch's
/// <c>torch.utils.checkpoint</c>. The random state is replayed so stochastic depth drops the same blocks, and batch-norm
/// running statistics are not updated twice.
/// </summary>
internal static class ActivationCheckpoint
{
    public static Tensor Run(nn.Module<Tensor, Tensor> stage, Tensor input) => CheckpointFunction.apply(input, stage);

    private sealed class CheckpointFunction : autograd.SingleTensorFunction<CheckpointFunction>
    {
        public override string Name => "ActivationCheckpoint";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var input = (Tensor)vars[0];
            var stage = (nn.Module<Tensor, Tensor>)vars[1];
            ctx.save_for_backward([input]);
            ctx.save_data("stage", stage);
            // As bytes: TorchSharp's context refuses tensors outside save_for_backward (and drops them with a warning).
            using (var rng = get_rng_state()) ctx.save_data("rng", rng.data<byte>().ToArray());
            using var noGrad = no_grad();
            // The stage's intermediate tensors die here, not at the end of the caller's scope: that is the saving.
            using var scope = NewDisposeScope();
            return stage.forward(input).MoveToOuterDisposeScope();
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
        {
            var input = ctx.get_saved_variables()[0];
            var stage = (nn.Module<Tensor, Tensor>)ctx.get_data("stage");
            var rng = tensor((byte[])ctx.get_data("rng"), dtype: ScalarType.Byte);
            using var current = get_rng_state();
            var norms = stage.modules().OfType<BatchNorm2d>().ToList();
            try
            {
                set_rng_state(rng);
                foreach (var norm in norms) norm.FreezeStatistics = true; // the first forward pass already updated them
                using var enable = enable_grad();
                using var scope = NewDisposeScope();
                var detached = input.detach().requires_grad_(true);
                var output = stage.forward(detached);
                autograd.backward([output], [grad_output]);
                return [detached.grad!.MoveToOuterDisposeScope(), null!];
            }
            finally
            {
                foreach (var norm in norms) norm.FreezeStatistics = false;
                set_rng_state(current);
                rng.Dispose();
            }
        }
    }
}
