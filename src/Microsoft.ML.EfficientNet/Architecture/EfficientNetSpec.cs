namespace Microsoft.ML.EfficientNet.Architecture;

/// <summary>
/// The complete layout of one EfficientNet: the variant's stage table (<see cref="EfficientNetBaseline"/> for the B
/// series, <see cref="EfficientNetV2Baseline"/> for V2) scaled by a <see cref="EfficientNetVariant"/>, with a classifier for a given class count. It is the single source from which the
/// TorchSharp modules, the ONNX graphs, the state-dict key maps, the parameter count and the MAC count are derived.
/// </summary>
internal sealed class EfficientNetSpec
{
    private EfficientNetSpec(EfficientNetVariant variant, int numClasses, double stochasticDepthRate)
    {
        Variant = variant;
        NumClasses = numClasses;
        StochasticDepthRate = stochasticDepthRate;

        var table = variant.Stages;
        // The stem feeds the first stage: 32 in B0 (EfficientNetBaseline.StemChannels), 24 or 32 in V2; Lite keeps 32 at
        // every width.
        StemChannels = variant.ScalesStemAndHead
            ? CompoundScaling.RoundFilters(table[0].InputChannels, variant.WidthMultiplier)
            : table[0].InputChannels;
        Stem = new ConvNormActivationSpec(
            new ConvSpec("features.0.0", EfficientNetBaseline.ImageChannels, StemChannels, EfficientNetBaseline.StemKernelSize,
                EfficientNetBaseline.StemStride, 1, HasBias: false),
            "features.0.1", true);

        var stageRepeats = table.Select((s, i) =>
            !variant.ScalesFirstAndLastStages && (i == 0 || i == table.Count - 1)
                ? s.Repeats
                : CompoundScaling.RoundRepeats(s.Repeats, variant.DepthMultiplier)).ToArray();
        int totalBlocks = stageRepeats.Sum();
        var stages = new List<IReadOnlyList<MBConvBlockSpec>>();
        int index = 0, previous = StemChannels;
        for (int s = 0; s < table.Count; s++)
        {
            MBConvStage config = table[s];
            int stageOutput = CompoundScaling.RoundFilters(config.OutputChannels, variant.WidthMultiplier);
            var blocks = new List<MBConvBlockSpec>();
            for (int j = 0; j < stageRepeats[s]; j++, index++)
            {
                // Only the first block of a stage changes resolution and width; the rest map out → out at stride 1. The
                // first takes what the previous unit gives (a fixed-width stem in Lite).
                blocks.Add(new MBConvBlockSpec(s, j, index, j == 0 ? previous : stageOutput, stageOutput, config,
                    j == 0 ? config.Stride : 1, stochasticDepthRate * index / totalBlocks));
            }
            stages.Add(blocks);
            previous = stageOutput;
        }
        Stages = stages;
        Blocks = stages.SelectMany(b => b).ToArray();

        HeadChannels = variant.ScalesStemAndHead
            ? CompoundScaling.RoundFilters(EfficientNetBaseline.HeadChannels, variant.WidthMultiplier)
            : EfficientNetBaseline.HeadChannels;
        int headIndex = stages.Count + 1;
        Head = new ConvNormActivationSpec(
            new ConvSpec($"features.{headIndex}.0", Blocks[^1].OutputChannels, HeadChannels, 1, 1, 1, HasBias: false),
            $"features.{headIndex}.1", true);
        Classifier = new LinearSpec("classifier.1", HeadChannels, numClasses);
        StateDict = BuildStateDict();
        ParameterCount = StateDict.Where(t => t.IsParameter).Sum(t => t.ElementCount);
    }

    /// <summary>The variant this network scales to.</summary>
    public EfficientNetVariant Variant { get; }

    /// <summary>Classifier outputs.</summary>
    public int NumClasses { get; }

    /// <summary>Drop probability of the last block under stochastic depth (0.2 by default).</summary>
    public double StochasticDepthRate { get; }

    /// <summary>Dropout before the classifier, from the variant.</summary>
    public double Dropout => Variant.Dropout;

    /// <summary>The activation of every convolution unit, from the variant: SiLU, or ReLU6 in Lite.</summary>
    internal ActivationKind Activation => Variant.Activation;

    /// <summary>Native input side, in pixels, from the variant.</summary>
    public int Resolution => Variant.Resolution;

    /// <summary>Stem output channels (32 for B0, 64 for B7).</summary>
    public int StemChannels { get; }

    /// <summary>Pooled feature width (1280 for B0, 2560 for B7): the featurizer's output length.</summary>
    public int HeadChannels { get; }

    /// <summary>The 3×3 stride-2 stem convolution unit, <c>features.0</c>.</summary>
    public ConvNormActivationSpec Stem { get; }

    /// <summary>The blocks of each stage (<c>features.1</c> … <c>features.7</c>; six stages in V2-S).</summary>
    public IReadOnlyList<IReadOnlyList<MBConvBlockSpec>> Stages { get; }

    /// <summary>All blocks in network order.</summary>
    public IReadOnlyList<MBConvBlockSpec> Blocks { get; }

    /// <summary>The 1×1 head convolution unit, <c>features.8</c> (<c>features.7</c> in V2-S).</summary>
    public ConvNormActivationSpec Head { get; }

    /// <summary>The classifier, <c>classifier.1</c> (index 0 is the dropout).</summary>
    public LinearSpec Classifier { get; }

    /// <summary>Every tensor of the state dict in torchvision's order, with canonical names and shapes.</summary>
    public IReadOnlyList<TensorSpec> StateDict { get; }

    /// <summary>Learnable parameters (what torchvision reports; buffers are not counted).</summary>
    public long ParameterCount { get; }

    /// <summary>
    /// Builds the spec of a variant.
    /// </summary>
    /// <param name="variant">The variant to build.</param>
    /// <param name="numClasses">Classifier outputs; default 1000 (ImageNet).</param>
    /// <param name="stochasticDepthRate">Drop probability of the last block during training; default 0.2.</param>
    public static EfficientNetSpec Create(EfficientNetVariant variant, int numClasses = 1000, double stochasticDepthRate = EfficientNetBaseline.StochasticDepthRate)
    {
        ArgumentNullException.ThrowIfNull(variant);
        if (numClasses < 1) throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "The class count must be at least 1.");
        if (!(stochasticDepthRate >= 0 && stochasticDepthRate < 1))
            throw new ArgumentOutOfRangeException(nameof(stochasticDepthRate), stochasticDepthRate, "The stochastic-depth rate must be in [0, 1).");
        return new EfficientNetSpec(variant, numClasses, stochasticDepthRate);
    }

    /// <summary>Builds the spec of a named variant (<c>b0</c> … <c>b7</c>, <c>v2-s</c>, <c>v2-m</c>, <c>v2-l</c>).</summary>
    /// <param name="variant">Variant name, see <see cref="EfficientNetVariant.Parse"/>.</param>
    /// <param name="numClasses">Classifier outputs; default 1000.</param>
    public static EfficientNetSpec Create(string variant, int numClasses = 1000) => Create(EfficientNetVariant.Parse(variant), numClasses);

    /// <summary>Every convolution unit (stem, block units, head) in network order.</summary>
    public IEnumerable<ConvNormActivationSpec> ConvNormActivations()
    {
        yield return Stem;
        foreach (var block in Blocks)
        {
            if (block.Expand is not null) yield return block.Expand;
            if (block.Depthwise is not null) yield return block.Depthwise;
            yield return block.Project;
        }
        yield return Head;
    }

    /// <summary>
    /// Multiply-accumulates of one forward pass of one image (convolutions and the classifier; the same convention as
    /// torchvision's published "GFLOPS"). Padding mode does not change output sizes, so it does not change the count.
    /// </summary>
    /// <param name="height">Input rows, in pixels.</param>
    /// <param name="width">Input columns, in pixels.</param>
    public long MultiplyAccumulates(int height, int width)
    {
        if (height < 1) throw new ArgumentOutOfRangeException(nameof(height), height, "Input height must be positive.");
        if (width < 1) throw new ArgumentOutOfRangeException(nameof(width), width, "Input width must be positive.");
        long macs = 0;
        (int h, int w) = Conv(Stem.Conv, height, width, ref macs);
        foreach (var block in Blocks)
        {
            if (block.Expand is not null) (h, w) = Conv(block.Expand.Conv, h, w, ref macs);
            if (block.Depthwise is not null) (h, w) = Conv(block.Depthwise.Conv, h, w, ref macs);
            if (block.SqueezeExcitation is { } se) macs += se.Reduce.MultiplyAccumulates(1, 1) + se.Expand.MultiplyAccumulates(1, 1);
            (h, w) = Conv(block.Project.Conv, h, w, ref macs);
        }
        Conv(Head.Conv, h, w, ref macs);
        return macs + (long)Classifier.InputFeatures * Classifier.OutputFeatures;

        static (int, int) Conv(ConvSpec conv, int h, int w, ref long total)
        {
            int oh = ConvPadding.OutputSize(PaddingMode.Symmetric, h, conv.KernelSize, conv.Stride);
            int ow = ConvPadding.OutputSize(PaddingMode.Symmetric, w, conv.KernelSize, conv.Stride);
            total += conv.MultiplyAccumulates(oh, ow);
            return (oh, ow);
        }
    }

    /// <summary>Multiply-accumulates at the variant's native square resolution.</summary>
    public long MultiplyAccumulates() => MultiplyAccumulates(Resolution, Resolution);

    /// <summary>
    /// The per-stage feature maps a detection or segmentation head can tap (timm's <c>feature_info</c>): the output of
    /// the stem and of every stage, with channels and total stride.
    /// </summary>
    public IReadOnlyList<FeatureEndpoint> Endpoints()
    {
        var endpoints = new List<FeatureEndpoint> { new("stem", Stem.Channels, EfficientNetBaseline.StemStride) };
        int reduction = EfficientNetBaseline.StemStride;
        for (int s = 0; s < Stages.Count; s++)
        {
            reduction *= Stages[s][0].Stride;
            endpoints.Add(new FeatureEndpoint($"stage{s + 1}", Stages[s][^1].OutputChannels, reduction));
        }
        return endpoints;
    }

    /// <summary>Side of the last feature map for a square input, in pixels (7 for B0 at 224).</summary>
    /// <param name="resolution">Input side, in pixels.</param>
    public int FinalFeatureMapSize(int resolution)
    {
        int size = ConvPadding.OutputSize(PaddingMode.Symmetric, resolution, Stem.Conv.KernelSize, Stem.Conv.Stride);
        foreach (var block in Blocks) size = ConvPadding.OutputSize(PaddingMode.Symmetric, size, block.KernelSize, block.Stride);
        return size;
    }

    private List<TensorSpec> BuildStateDict()
    {
        var entries = new List<TensorSpec>();
        void AddConv(ConvSpec conv, LayerRole role, MBConvBlockSpec? block)
        {
            var layer = new LayerSpec(conv.Name, role, block);
            entries.Add(new TensorSpec(conv.Name + ".weight", conv.WeightShape, TensorRole.Weight, layer));
            if (conv.HasBias) entries.Add(new TensorSpec(conv.Name + ".bias", [conv.OutputChannels], TensorRole.Bias, layer));
        }
        void AddUnit(ConvNormActivationSpec unit, LayerRole convRole, MBConvBlockSpec? block)
        {
            AddConv(unit.Conv, convRole, block);
            // In LayerRole every norm directly follows its convolution.
            var norm = new LayerSpec(unit.NormName, convRole + 1, block);
            long[] shape = [unit.Channels];
            entries.Add(new TensorSpec(unit.NormName + ".weight", shape, TensorRole.Weight, norm));
            entries.Add(new TensorSpec(unit.NormName + ".bias", shape, TensorRole.Bias, norm));
            entries.Add(new TensorSpec(unit.NormName + ".running_mean", shape, TensorRole.RunningMean, norm));
            entries.Add(new TensorSpec(unit.NormName + ".running_var", shape, TensorRole.RunningVar, norm));
            entries.Add(new TensorSpec(unit.NormName + ".num_batches_tracked", [], TensorRole.NumBatchesTracked, norm));
        }

        AddUnit(Stem, LayerRole.StemConv, null);
        foreach (var block in Blocks)
        {
            if (block.Expand is not null) AddUnit(block.Expand, LayerRole.ExpandConv, block);
            if (block.Depthwise is not null) AddUnit(block.Depthwise, LayerRole.DepthwiseConv, block);
            if (block.SqueezeExcitation is { } se)
            {
                AddConv(se.Reduce, LayerRole.SqueezeReduce, block);
                AddConv(se.Expand, LayerRole.SqueezeExpand, block);
            }
            AddUnit(block.Project, LayerRole.ProjectConv, block);
        }
        AddUnit(Head, LayerRole.HeadConv, null);
        var classifier = new LayerSpec(Classifier.Name, LayerRole.Classifier, null);
        entries.Add(new TensorSpec(Classifier.Name + ".weight", [Classifier.OutputFeatures, Classifier.InputFeatures], TensorRole.Weight, classifier));
        entries.Add(new TensorSpec(Classifier.Name + ".bias", [Classifier.OutputFeatures], TensorRole.Bias, classifier));
        return entries;
    }
}

/// <summary>A feature map the network exposes for dense tasks.</summary>
/// <param name="Name"><c>stem</c> or <c>stage1</c> … <c>stage7</c>.</param>
/// <param name="Channels">Channels of the map.</param>
/// <param name="Reduction">Total stride relative to the input (2 … 32).</param>
internal sealed record FeatureEndpoint(string Name, int Channels, int Reduction);
