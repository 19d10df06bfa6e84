namespace Microsoft.ML.EfficientNet.Architecture;

/// <summary>A 2-D convolution of the network, named by its state-dict prefix (torchvision naming).</summary>
/// <param name="Name">State-dict prefix, for example <c>features.0.0</c>; the weight is <c>{Name}.weight</c>.</param>
/// <param name="InputChannels">Input channels.</param>
/// <param name="OutputChannels">Output channels.</param>
/// <param name="KernelSize">Square kernel side, in pixels.</param>
/// <param name="Stride">Stride in both axes.</param>
/// <param name="Groups">Channel groups (equal to the channels for a depthwise convolution).</param>
/// <param name="HasBias">True only for the squeeze-and-excitation convolutions.</param>
internal sealed record ConvSpec(string Name, int InputChannels, int OutputChannels, int KernelSize, int Stride, int Groups, bool HasBias)
{
    /// <summary>Weight shape [out, in/groups, k, k].</summary>
    public long[] WeightShape => [OutputChannels, InputChannels / Groups, KernelSize, KernelSize];

    /// <summary>Learnable parameters: the weight and, if any, the bias.</summary>
    public long ParameterCount => (long)OutputChannels * (InputChannels / Groups) * KernelSize * KernelSize + (HasBias ? OutputChannels : 0);

    /// <summary>Multiply-accumulates for an output map of the given size.</summary>
    /// <param name="outputHeight">Output rows.</param>
    /// <param name="outputWidth">Output columns.</param>
    public long MultiplyAccumulates(int outputHeight, int outputWidth) =>
        (long)outputHeight * outputWidth * OutputChannels * (InputChannels / Groups) * KernelSize * KernelSize;
}

/// <summary>A convolution followed by batch normalisation and, optionally, SiLU (torchvision's Conv2dNormActivation).</summary>
/// <param name="Conv">The convolution, child 0 of the unit.</param>
/// <param name="NormName">State-dict prefix of the batch norm, child 1 of the unit.</param>
/// <param name="HasActivation">True when SiLU follows the batch norm (all but the project convolution).</param>
internal sealed record ConvNormActivationSpec(ConvSpec Conv, string NormName, bool HasActivation)
{
    /// <summary>Channels normalised by the batch norm (the convolution's output channels).</summary>
    public int Channels => Conv.OutputChannels;
}

/// <summary>Squeeze-and-excitation: pool → 1×1 conv (reduce) → SiLU → 1×1 conv (expand) → sigmoid → scale the input.</summary>
/// <param name="Name">State-dict prefix; the convolutions are <c>{Name}.fc1</c> and <c>{Name}.fc2</c>.</param>
/// <param name="Reduce">The reducing convolution (expanded → squeeze channels, with bias).</param>
/// <param name="Expand">The expanding convolution (squeeze → expanded channels, with bias).</param>
internal sealed record SqueezeExcitationSpec(string Name, ConvSpec Reduce, ConvSpec Expand);

/// <summary>The fully connected classifier after pooling and dropout.</summary>
/// <param name="Name">State-dict prefix, <c>classifier.1</c>.</param>
/// <param name="InputFeatures">Pooled feature width (the head channels).</param>
/// <param name="OutputFeatures">Class count.</param>
internal sealed record LinearSpec(string Name, int InputFeatures, int OutputFeatures)
{
    /// <summary>Weight and bias elements.</summary>
    public long ParameterCount => (long)InputFeatures * OutputFeatures + OutputFeatures;
}

/// <summary>What a state-dict tensor is, which decides how it is loaded, folded and counted.</summary>
internal enum TensorRole
{
    /// <summary>A convolution, linear or batch-norm weight (γ); a learnable parameter.</summary>
    Weight,

    /// <summary>A bias (β for batch norm); a learnable parameter.</summary>
    Bias,

    /// <summary>Batch-norm running mean; a buffer.</summary>
    RunningMean,

    /// <summary>Batch-norm running variance; a buffer.</summary>
    RunningVar,

    /// <summary>Batch-norm update counter (int64 scalar); a buffer that old checkpoints omit.</summary>
    NumBatchesTracked,
}

/// <summary>What a layer does in the network; weight formats name layers by this role and the block they sit in.</summary>
internal enum LayerRole
{
    /// <summary>The stem convolution.</summary>
    StemConv,

    /// <summary>The stem batch norm.</summary>
    StemNorm,

    /// <summary>A block's 1×1 expand convolution.</summary>
    ExpandConv,

    /// <summary>A block's batch norm after the expand convolution.</summary>
    ExpandNorm,

    /// <summary>A block's depthwise convolution.</summary>
    DepthwiseConv,

    /// <summary>A block's batch norm after the depthwise convolution.</summary>
    DepthwiseNorm,

    /// <summary>A block's squeeze-and-excitation reducing convolution.</summary>
    SqueezeReduce,

    /// <summary>A block's squeeze-and-excitation expanding convolution.</summary>
    SqueezeExpand,

    /// <summary>A block's 1×1 project convolution.</summary>
    ProjectConv,

    /// <summary>A block's batch norm after the project convolution.</summary>
    ProjectNorm,

    /// <summary>The head 1×1 convolution.</summary>
    HeadConv,

    /// <summary>The head batch norm.</summary>
    HeadNorm,

    /// <summary>The fully connected classifier.</summary>
    Classifier,
}

/// <summary>A layer that owns tensors: its canonical (torchvision) name, role, and the block it belongs to.</summary>
/// <param name="Name">State-dict prefix, for example <c>features.2.0.block.1.0</c>.</param>
/// <param name="Role">What the layer does.</param>
/// <param name="Block">The block that holds the layer; null for stem, head and classifier.</param>
internal sealed record LayerSpec(string Name, LayerRole Role, MBConvBlockSpec? Block);

/// <summary>One entry of the network's state dict: canonical (torchvision) name, shape and role.</summary>
/// <param name="Name">Full key, for example <c>features.1.0.block.0.1.running_var</c>.</param>
/// <param name="Shape">Tensor shape; empty for a scalar.</param>
/// <param name="Role">What the tensor is.</param>
/// <param name="Layer">The layer that owns it.</param>
internal sealed record TensorSpec(string Name, long[] Shape, TensorRole Role, LayerSpec Layer)
{
    /// <summary>The part of the key after the layer prefix: <c>weight</c>, <c>bias</c>, <c>running_mean</c> ….</summary>
    public string Leaf => Name[(Layer.Name.Length + 1)..];

    /// <summary>True for learnable parameters (weights and biases), false for buffers.</summary>
    public bool IsParameter => Role is TensorRole.Weight or TensorRole.Bias;

    /// <summary>Number of elements (1 for a scalar).</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>The shape written as <c>[32, 3, 3, 3]</c>.</summary>
    public string ShapeText => FormatShape(Shape);

    /// <summary>Writes a shape as <c>[32, 3, 3, 3]</c> for messages.</summary>
    /// <param name="shape">The shape.</param>
    public static string FormatShape(IEnumerable<long> shape) => "[" + string.Join(", ", shape) + "]";
}
