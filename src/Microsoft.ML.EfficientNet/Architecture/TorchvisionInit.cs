namespace Microsoft.ML.EfficientNet.Architecture;

/// <summary>The distribution a tensor's first values are drawn from.</summary>
internal enum InitDistribution
{
    /// <summary>All zeros.</summary>
    Zeros,

    /// <summary>All ones.</summary>
    Ones,

    /// <summary>Normal with mean 0 and standard deviation <see cref="TensorInit.Scale"/>.</summary>
    Normal,

    /// <summary>Uniform in [−<see cref="TensorInit.Scale"/>, <see cref="TensorInit.Scale"/>].</summary>
    Uniform,
}

/// <summary>How one tensor starts.</summary>
/// <param name="Distribution">The distribution.</param>
/// <param name="Scale">Standard deviation for <see cref="InitDistribution.Normal"/>, bound for <see cref="InitDistribution.Uniform"/>, 0 otherwise.</param>
internal readonly record struct TensorInit(InitDistribution Distribution, double Scale);

/// <summary>
/// torchvision's initialisation of EfficientNet, written once for both places that start a network from nothing: the
/// TorchSharp modules (training from scratch) and <c>RandomWeights</c> (random weights without libtorch).
/// torchvision's <c>EfficientNet.__init__</c>: convolutions Kaiming normal with <c>mode="fan_out"</c>, batch norms
/// γ = 1 and β = 0 (running statistics 0 and 1), the classifier uniform in ±1/√classes with zero bias; every bias zero.
/// </summary>
internal static class TorchvisionInit
{
    /// <summary>
    /// A convolution's weight: Kaiming normal, fan-out, gain √2 (ReLU), so std = √2 / √(out · k²). PyTorch counts the
    /// fan-out as out · k² whatever the groups, depthwise convolutions included.
    /// </summary>
    /// <param name="conv">The convolution.</param>
    public static TensorInit ConvWeight(ConvSpec conv)
    {
        ArgumentNullException.ThrowIfNull(conv);
        return KaimingFanOut((long)conv.OutputChannels * conv.KernelSize * conv.KernelSize);
    }

    /// <summary>Every bias (and batch-norm β): zero.</summary>
    public static TensorInit Bias { get; } = new(InitDistribution.Zeros, 0);

    /// <summary>The classifier's weight as torchvision starts it: uniform in ±1/√classes. Its bias is zero.</summary>
    /// <param name="classifier">The classifier.</param>
    public static TensorInit ClassifierWeight(LinearSpec classifier)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        return UniformOverRoot(classifier.OutputFeatures);
    }

    /// <summary>
    /// A new classifier on trained features, as a new PyTorch <c>nn.Linear</c> starts: weight and bias uniform in
    /// ±1/√inputs. torchvision's from-scratch bound (±1/√classes) gives logits about ten times larger on trained
    /// features, and a few hundred fine-tuning steps do not undo that noise.
    /// </summary>
    /// <param name="classifier">The classifier.</param>
    public static TensorInit TransferClassifier(LinearSpec classifier)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        return UniformOverRoot(classifier.InputFeatures);
    }

    /// <summary>How a state-dict entry of a network starts.</summary>
    /// <param name="tensor">The entry (from <see cref="EfficientNetSpec.StateDict"/>).</param>
    public static TensorInit For(TensorSpec tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        return tensor.Role switch
        {
            // [out, in/groups, k, k]: out · k² is PyTorch's fan-out, as in ConvWeight.
            TensorRole.Weight when tensor.Shape.Length == 4 => KaimingFanOut(tensor.Shape[0] * tensor.Shape[2] * tensor.Shape[3]),
            TensorRole.Weight when tensor.Layer.Role == LayerRole.Classifier => UniformOverRoot(tensor.Shape[0]), // [classes, inputs]
            TensorRole.Weight or TensorRole.RunningVar => new(InitDistribution.Ones, 0), // batch-norm γ and running variance
            _ => new(InitDistribution.Zeros, 0), // biases, running means, update counters
        };
    }

    // The same arithmetic as libtorch's kaiming_normal_ (gain / √fan, in double), so modules drawing with this std get
    // the very values torch.nn.init.kaiming_normal_ would.
    private static TensorInit KaimingFanOut(long fanOut) => new(InitDistribution.Normal, Math.Sqrt(2.0) / Math.Sqrt(fanOut));

    private static TensorInit UniformOverRoot(long n) => new(InitDistribution.Uniform, 1.0 / Math.Sqrt(n));
}
