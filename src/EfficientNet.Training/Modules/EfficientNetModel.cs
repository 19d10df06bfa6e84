using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Weights;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EfficientNet.Training.Modules;

/// <summary>
/// EfficientNet as a TorchSharp module, built from an <see cref="EfficientNetSpec"/>. Children mirror torchvision:
/// <c>features</c> (stem <c>0</c>, stages <c>1</c>–<c>7</c>, head <c>8</c>), <c>avgpool</c> and <c>classifier</c>
/// (<c>0</c> dropout, <c>1</c> linear), so <see cref="nn.Module.state_dict"/> keys equal torchvision's.
/// </summary>
internal sealed class EfficientNetModel : nn.Module<Tensor, Tensor>
{
    private readonly Sequential features;
    private readonly AdaptiveAvgPool2d avgpool;
    private readonly Sequential classifier;

    /// <summary>Builds the network with freshly initialised weights.</summary>
    /// <param name="spec">The network layout (variant and class count).</param>
    /// <param name="source">Padding and batch-norm eps/momentum; default torchvision's for the variant.</param>
    /// <param name="activation">Makes each SiLU; default <see cref="nn.SiLU()"/>. Lite variants always use ReLU6.</param>
    public EfficientNetModel(EfficientNetSpec spec, WeightSource? source = null, ActivationFactory? activation = null) : base(nameof(EfficientNetModel))
    {
        ArgumentNullException.ThrowIfNull(spec);
        Spec = spec;
        Source = source ?? WeightSource.For(WeightFormat.TorchVision, spec.Variant);
        activation = spec.Activation == ActivationKind.ReLU6 ? () => nn.ReLU6() : activation ?? (() => nn.SiLU());

        var stages = new List<(string, nn.Module<Tensor, Tensor>)> { ("0", ConvNormActivation.Create(spec.Stem, Source, activation)) };
        for (int s = 0; s < spec.Stages.Count; s++)
        {
            var blocks = spec.Stages[s].Select(b => (b.IndexInStage.ToString(System.Globalization.CultureInfo.InvariantCulture), (nn.Module<Tensor, Tensor>)new MBConv(b, Source, activation)));
            stages.Add(((s + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), nn.Sequential(blocks)));
        }
        stages.Add(((spec.Stages.Count + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), ConvNormActivation.Create(spec.Head, Source, activation)));
        features = nn.Sequential(stages);
        avgpool = nn.AdaptiveAvgPool2d(1);
        var linear = nn.Linear(spec.Classifier.InputFeatures, spec.Classifier.OutputFeatures);
        Initialization.Apply(linear.weight, TorchvisionInit.ClassifierWeight(spec.Classifier));
        Initialization.Apply(linear.bias!, TorchvisionInit.Bias);
        classifier = nn.Sequential(("0", nn.Dropout(spec.Dropout, inplace: true)), ("1", linear));
        // Registered by hand in torchvision's order (RegisterComponents would order the fields by name).
        register_module(nameof(features), features);
        register_module(nameof(avgpool), avgpool);
        register_module(nameof(classifier), classifier);
    }

    /// <summary>
    /// Re-initialises the classifier as a new PyTorch <c>nn.Linear</c> starts (<see cref="TorchvisionInit.TransferClassifier"/>:
    /// weights and bias uniform in ±1/√inputs), the head a transfer-learning script puts on a trained backbone.
    /// </summary>
    public void ResetClassifierForTransfer()
    {
        var linear = (TorchSharp.Modules.Linear)classifier[1];
        var init = TorchvisionInit.TransferClassifier(Spec.Classifier);
        Initialization.Apply(linear.weight, init);
        Initialization.Apply(linear.bias!, init);
    }

    /// <summary>The layout this module was built from.</summary>
    public EfficientNetSpec Spec { get; }

    /// <summary>Padding and batch-norm conventions in use.</summary>
    public WeightSource Source { get; }

    /// <summary>Stem, stages and head (<c>features.0</c> … <c>features.8</c>).</summary>
    public Sequential Features => features;

    /// <summary>Dropout and the linear classifier.</summary>
    public Sequential Classifier => classifier;

    /// <summary>Logits [N, classes] for images [N, 3, H, W] (normalised float32).</summary>
    /// <param name="input">Normalised images.</param>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        return classifier.forward(PooledFeatures(input)).MoveToOuterDisposeScope();
    }

    /// <summary>Pooled features [N, head channels] before dropout and classifier: what the featurizer outputs.</summary>
    /// <param name="input">Normalised images [N, 3, H, W].</param>
    public Tensor PooledFeatures(Tensor input)
    {
        using var scope = NewDisposeScope();
        Tensor x = input;
        for (int i = 0; i < features.Count; i++)
        {
            var unit = (nn.Module<Tensor, Tensor>)features[i];
            if (!training || !CheckpointedStages.Contains(i) || !(x.requires_grad || unit.parameters().Any(p => p.requires_grad)))
            {
                x = unit.forward(x);
                continue;
            }
            // A checkpoint's output needs gradients only if its input has them: the image does not, so it gets a leaf
            // copy that does (its gradient is computed and dropped), or the stem and everything after it would not train.
            if (!x.requires_grad) x = x.detach().requires_grad_(true);
            // Block by block inside a stage: the backward pass then holds one block's activations at a time, not a
            // whole stage's (stage 2 alone is most of B0's activation memory at 224 px).
            if (unit is Sequential blocks && blocks.Count > 0 && blocks[0] is MBConv)
                foreach (var block in blocks.children().Cast<nn.Module<Tensor, Tensor>>()) x = ActivationCheckpoint.Run(block, x);
            else
                x = ActivationCheckpoint.Run(unit, x);
        }
        return avgpool.forward(x).flatten(1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Indices of <c>features</c> children (0 stem, 1–7 stages, 8 head) whose activations are recomputed in the backward
    /// pass instead of kept (activation checkpointing). Empty by default; applies only in training mode.
    /// </summary>
    public IReadOnlySet<int> CheckpointedStages { get; set; } = new HashSet<int>();

    /// <summary>
    /// Stores every 4-D weight channels-last (NHWC in memory, same shape), so that with channels-last input libtorch runs
    /// oneDNN's NHWC convolutions without layout conversions (measured 1.7× faster training steps on the CPU).
    /// </summary>
    public void ToChannelsLast()
    {
        using var noGrad = no_grad();
        foreach (var parameter in parameters())
        {
            if (parameter.dim() == 4) parameter.set_(ChannelsLast(parameter));
        }
    }

    /// <summary>
    /// The same tensor with channels-last strides: TorchSharp has no <c>memory_format</c> argument, but a permute to NHWC,
    /// a contiguous copy and the inverse permute give exactly the strides PyTorch's <c>channels_last</c> has.
    /// </summary>
    /// <param name="tensor">A 4-D tensor.</param>
    public static Tensor ChannelsLast(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        return tensor.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);
    }

    /// <summary>
    /// The feature maps of the stem and of each of the seven stages (timm's <c>features_only</c>), for detection or
    /// segmentation heads; channels and strides are in <see cref="EfficientNetSpec.Endpoints"/>.
    /// </summary>
    /// <param name="input">Normalised images [N, 3, H, W].</param>
    /// <returns>Eight maps, the caller disposes them.</returns>
    public IReadOnlyList<Tensor> Endpoints(Tensor input)
    {
        var maps = new List<Tensor>();
        Tensor x = input;
        // features.8 (head) is not an endpoint: stop after the last stage.
        for (int i = 0; i <= Spec.Stages.Count; i++)
        {
            x = ((nn.Module<Tensor, Tensor>)features[i]).forward(x);
            maps.Add(x);
        }
        return maps;
    }

    /// <summary>Learnable parameters of the live module.</summary>
    public long ParameterCount => parameters().Sum(p => p.numel());
}
