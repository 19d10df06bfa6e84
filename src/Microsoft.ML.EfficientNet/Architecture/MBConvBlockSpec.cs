namespace Microsoft.ML.EfficientNet.Architecture;

/// <summary>
/// One mobile inverted bottleneck block after scaling: [expand 1×1] → depthwise k×k → squeeze-excitation →
/// project 1×1 → [stochastic depth + identity residual]. Layer names follow torchvision's state-dict keys.
/// </summary>
public sealed class MBConvBlockSpec
{
    internal MBConvBlockSpec(int stage, int indexInStage, int index, int inputChannels, int outputChannels,
        MBConvStage stageConfig, int stride, double dropPathRate)
    {
        Stage = stage;
        IndexInStage = indexInStage;
        Index = index;
        InputChannels = inputChannels;
        OutputChannels = outputChannels;
        KernelSize = stageConfig.KernelSize;
        Stride = stride;
        ExpandedChannels = CompoundScaling.RoundFilters(inputChannels, stageConfig.ExpandRatio);
        // The squeeze width comes from the block INPUT, not the expanded width (B0 stage 2, block 0: in 16 → squeeze 4).
        SqueezeChannels = Math.Max(1, (int)(inputChannels * stageConfig.SqueezeRatio));
        DropPathRate = dropPathRate;

        Name = $"features.{stage + 1}.{indexInStage}";
        string layers = Name + ".block";
        int next = 0;
        if (HasExpansion)
        {
            Expand = new ConvNormActivationSpec(
                new ConvSpec($"{layers}.{next}.0", InputChannels, ExpandedChannels, 1, 1, 1, HasBias: false), $"{layers}.{next}.1", true);
            next++;
        }
        Depthwise = new ConvNormActivationSpec(
            new ConvSpec($"{layers}.{next}.0", ExpandedChannels, ExpandedChannels, KernelSize, Stride, ExpandedChannels, HasBias: false),
            $"{layers}.{next}.1", true);
        next++;
        SqueezeExcitation = new SqueezeExcitationSpec($"{layers}.{next}",
            new ConvSpec($"{layers}.{next}.fc1", ExpandedChannels, SqueezeChannels, 1, 1, 1, HasBias: true),
            new ConvSpec($"{layers}.{next}.fc2", SqueezeChannels, ExpandedChannels, 1, 1, 1, HasBias: true));
        next++;
        Project = new ConvNormActivationSpec(
            new ConvSpec($"{layers}.{next}.0", ExpandedChannels, OutputChannels, 1, 1, 1, HasBias: false), $"{layers}.{next}.1", false);
    }

    /// <summary>Zero-based stage (0–6 for the seven MBConv stages).</summary>
    public int Stage { get; }

    /// <summary>Zero-based position within the stage.</summary>
    public int IndexInStage { get; }

    /// <summary>Zero-based position among all blocks of the network.</summary>
    public int Index { get; }

    /// <summary>State-dict prefix of the block, for example <c>features.2.1</c>.</summary>
    public string Name { get; }

    /// <summary>Input channels.</summary>
    public int InputChannels { get; }

    /// <summary>Channels after the expand convolution (equal to the input when there is none).</summary>
    public int ExpandedChannels { get; }

    /// <summary>Output channels.</summary>
    public int OutputChannels { get; }

    /// <summary>Depthwise kernel side, in pixels.</summary>
    public int KernelSize { get; }

    /// <summary>Depthwise stride (2 only in the first block of a downsampling stage).</summary>
    public int Stride { get; }

    /// <summary>Squeeze-and-excitation bottleneck width: max(1, ⌊input·ratio⌋).</summary>
    public int SqueezeChannels { get; }

    /// <summary>Stochastic-depth drop probability during training: rate·index/blocks.</summary>
    public double DropPathRate { get; }

    /// <summary>True when the block has a 1×1 expand convolution (expand ratio ≠ 1).</summary>
    public bool HasExpansion => ExpandedChannels != InputChannels;

    /// <summary>True when the input is added to the output (stride 1 and equal channels).</summary>
    public bool HasResidual => Stride == 1 && InputChannels == OutputChannels;

    /// <summary>The expand convolution unit, or null when <see cref="HasExpansion"/> is false.</summary>
    public ConvNormActivationSpec? Expand { get; }

    /// <summary>The depthwise convolution unit.</summary>
    public ConvNormActivationSpec Depthwise { get; }

    /// <summary>The squeeze-and-excitation unit.</summary>
    public SqueezeExcitationSpec SqueezeExcitation { get; }

    /// <summary>The project convolution unit (no activation).</summary>
    public ConvNormActivationSpec Project { get; }
}
