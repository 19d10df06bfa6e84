using static TorchSharp.torch;

namespace EfficientNet.Training.Modules;

/// <summary>
/// Batch normalisation over channels of an <c>[N, C, H, W]</c> tensor with torchvision's state-dict names
/// (<c>weight</c>, <c>bias</c>, <c>running_mean</c>, <c>running_var</c>, <c>num_batches_tracked</c>).
/// </summary>
/// <remarks>
/// Written here instead of using TorchSharp's <c>BatchNorm2d</c> for two reasons. (1) TorchSharp's forward increments
/// <c>num_batches_tracked</c> with a temporary <c>Scalar</c> that only its finalizer frees; when a garbage collection
/// (triggered by the data loader's threads) finalises it while libtorch still reads it, the step fails with
/// "Unknown scalar type". The increment here uses scalars that live as long as the process (<see cref="HeldScalars"/>). (2) Activation
/// checkpointing recomputes a stage's forward pass, which must not update the running statistics a second time;
/// TorchSharp reads momentum 0 as "cumulative average", so <see cref="FreezeStatistics"/> passes momentum 0 to libtorch
/// directly, which leaves the statistics untouched.
/// </remarks>
internal sealed class BatchNorm2d : nn.Module<Tensor, Tensor>
{
    private readonly TorchSharp.Modules.Parameter weight;
    private readonly TorchSharp.Modules.Parameter bias;
    private readonly Tensor running_mean;
    private readonly Tensor running_var;
    private readonly Tensor num_batches_tracked;

    /// <summary>Creates the layer with unit scale, zero shift, zero mean and unit variance.</summary>
    /// <param name="channels">Number of channels C.</param>
    /// <param name="eps">Added to the variance before the square root (1e-5 torchvision, 1e-3 TensorFlow ports).</param>
    /// <param name="momentum">Weight of the current batch in the running statistics (0.1 torchvision, 0.01 TensorFlow ports).</param>
    public BatchNorm2d(long channels, double eps, double momentum) : base(nameof(BatchNorm2d))
    {
        Epsilon = eps;
        Momentum = momentum;
        weight = new TorchSharp.Modules.Parameter(ones(channels));
        bias = new TorchSharp.Modules.Parameter(zeros(channels));
        running_mean = zeros(channels);
        running_var = ones(channels);
        num_batches_tracked = zeros(Array.Empty<long>(), dtype: ScalarType.Int64);
        RegisterComponents();
    }

    /// <summary>Added to the variance before the square root.</summary>
    public double Epsilon { get; }

    /// <summary>Weight of the current batch in the running statistics during training.</summary>
    public double Momentum { get; }

    /// <summary>
    /// When true, training-mode forward passes normalise with batch statistics but leave the running statistics and the
    /// batch count unchanged (a recomputed forward pass). Default false.
    /// </summary>
    public bool FreezeStatistics { get; set; }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        if (input.dim() != 4)
            throw new ArgumentException($"BatchNorm2d expects a 4-D [N, C, H, W] input but got {input.dim()}-D.", nameof(input));
        bool update = training && !FreezeStatistics;
        if (update)
        {
            using var noGrad = no_grad();
            num_batches_tracked.add_(HeldScalars.IntegerOne, HeldScalars.IntegerOne); // explicit alpha: the one-argument overload makes a temporary Scalar
        }
        return nn.functional.batch_norm(input, running_mean, running_var, weight, bias, training, update ? Momentum : 0.0, Epsilon);
    }
}
