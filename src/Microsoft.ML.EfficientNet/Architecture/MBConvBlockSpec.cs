namespace Microsoft.ML.EfficientNet.Architecture;

/// <summary>
/// One mobile inverted bottleneck block after scaling: [expand 1×1] → depthwise k×k → squeeze-excitation →
/// project 1×1 → [stochastic depth + identity residual]; or, for <see cref="MBConvKind.FusedMBConv"/>, expand k×k →
/// project 1×1 (a single k×k unit without expansion) → [residual]. Layer names follow torchvision's state-dict keys.
/// </summary>
internal sealed class MBConvBlockSpec
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

        Kind = stageConfig.Kind;
        Name = $"features.{stage + 1}.{indexInStage}";
        string layers = Name + ".block";
        int next = 0;
        if (Kind == MBConvKind.FusedMBConv)
        {
            // torchvision's FusedMBConv: the k×k convolution carries the stride; with expansion it widens and a 1×1
            // projects back, without it the single k×k convolution (with activation) maps input to output.
            if (HasExpansion)
            {
                Expand = new ConvNormActivationSpec(
                    new ConvSpec($"{layers}.0.0", InputChannels, ExpandedChannels, KernelSize, Stride, 1, HasBias: false), $"{layers}.0.1", true);
                Project = new ConvNormActivationSpec(
                    new ConvSpec($"{layers}.1.0", ExpandedChannels, OutputChannels, 1, 1, 1, HasBias: false), $"{layers}.1.1", false);
            }
            else
            {
                Project = new ConvNormActivationSpec(
                    new ConvSpec($"{layers}.0.0", InputChannels, OutputChannels, KernelSize, Stride, 1, HasBias: false), $"{layers}.0.1", true);
            }
            return;
        }
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
        // Lite's stages have no squeeze-and-excitation (ratio 0).
        if (stageConfig.SqueezeRatio > 0)
        {
            SqueezeExcitation = new SqueezeExcitationSpec($"{layers}.{next}",
                new ConvSpec($"{layers}.{next}.fc1", ExpandedChannels, SqueezeChannels, 1, 1, 1, HasBias: true),
                new ConvSpec($"{layers}.{next}.fc2", SqueezeChannels, ExpandedChannels, 1, 1, 1, HasBias: true));
            next++;
        }
        Project = new ConvNormActivationSpec(
            new ConvSpec($"{layers}.{next}.0", ExpandedChannels, OutputChannels, 1, 1, 1, HasBias: false), $"{layers}.{next}.1", false);
    }

    /// <summary>MBConv or Fused-MBConv.</summary>
    public MBConvKind Kind { get; }

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

    /// <summary>Depthwise (MBConv) or fused k×k (Fused-MBConv) kernel side, in pixels.</summary>
    public int KernelSize { get; }

    /// <summary>Stride of the depthwise (MBConv) or k×k (Fused-MBConv) convolution (2 only in the first block of a downsampling stage).</summary>
    public int Stride { get; }

    /// <summary>Squeeze-and-excitation bottleneck width: max(1, ⌊input·ratio⌋); meaningless when <see cref="SqueezeExcitation"/> is null.</summary>
    public int SqueezeChannels { get; }

    /// <summary>Stochastic-depth drop probability during training: rate·index/blocks.</summary>
    public double DropPathRate { get; }

    /// <summary>True when the block has an expand convolution (expand ratio ≠ 1): 1×1 in MBConv, k×k in Fused-MBConv.</summary>
    public bool HasExpansion => ExpandedChannels != InputChannels;

    /// <summary>True when the input is added to the output (stride 1 and equal channels).</summary>
    public bool HasResidual => Stride == 1 && InputChannels == OutputChannels;

    /// <summary>The expand convolution unit, or null when <see cref="HasExpansion"/> is false.</summary>
    public ConvNormActivationSpec? Expand { get; }

    /// <summary>The depthwise convolution unit; null in Fused-MBConv.</summary>
    public ConvNormActivationSpec? Depthwise { get; }

    /// <summary>The squeeze-and-excitation unit; null in Fused-MBConv and in Lite.</summary>
    public SqueezeExcitationSpec? SqueezeExcitation { get; }

    /// <summary>
    /// The project convolution unit (1×1, no activation); in a Fused-MBConv without expansion the block's single k×k unit,
    /// with activation.
    /// </summary>
    public ConvNormActivationSpec Project { get; }
}
