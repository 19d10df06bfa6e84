namespace Microsoft.ML.EfficientNet.Architecture;

/// <summary>
/// The EfficientNetV2 family (Tan &amp; Le 2021, Table 4 and appendix), as torchvision 0.14's <c>_efficientnet_conf</c>
/// defines it: the only place V2's layouts are written down. Unlike B1–B7, S, M and L are not compound-scaled from one
/// baseline: each has its own stage table, built at width and depth 1.0. Stem is 3×3 stride 2 with the first stage's
/// input channels, head is a 1×1 convolution to <see cref="HeadChannels"/>, batch-norm ε is 1e-3.
/// </summary>
internal static class EfficientNetV2Baseline
{
    /// <summary>Channels of the 1×1 head convolution of every V2 variant (torchvision's <c>last_channel</c>).</summary>
    public const int HeadChannels = 1280;

    /// <summary>Batch-norm ε of every V2 variant in torchvision (<c>partial(nn.BatchNorm2d, eps=1e-03)</c>).</summary>
    public const double BatchNormEpsilon = 1e-3;

    private const MBConvKind F = MBConvKind.FusedMBConv;
    private const MBConvKind M = MBConvKind.MBConv;

    /// <summary>EfficientNetV2-S: three Fused-MBConv stages, three MBConv stages.</summary>
    public static IReadOnlyList<MBConvStage> SmallStages { get; } =
    [
        //  expand kernel stride  in   out  repeats  SE
        new(1,     3,     1,      24,  24,  2,       0,    F),
        new(4,     3,     2,      24,  48,  4,       0,    F),
        new(4,     3,     2,      48,  64,  4,       0,    F),
        new(4,     3,     2,      64,  128, 6,       0.25, M),
        new(6,     3,     1,      128, 160, 9,       0.25, M),
        new(6,     3,     2,      160, 256, 15,      0.25, M),
    ];

    /// <summary>EfficientNetV2-M: three Fused-MBConv stages, four MBConv stages.</summary>
    public static IReadOnlyList<MBConvStage> MediumStages { get; } =
    [
        //  expand kernel stride  in   out  repeats  SE
        new(1,     3,     1,      24,  24,  3,       0,    F),
        new(4,     3,     2,      24,  48,  5,       0,    F),
        new(4,     3,     2,      48,  80,  5,       0,    F),
        new(4,     3,     2,      80,  160, 7,       0.25, M),
        new(6,     3,     1,      160, 176, 14,      0.25, M),
        new(6,     3,     2,      176, 304, 18,      0.25, M),
        new(6,     3,     1,      304, 512, 5,       0.25, M),
    ];

    /// <summary>EfficientNetV2-L: three Fused-MBConv stages, four MBConv stages.</summary>
    public static IReadOnlyList<MBConvStage> LargeStages { get; } =
    [
        //  expand kernel stride  in   out  repeats  SE
        new(1,     3,     1,      32,  32,  4,       0,    F),
        new(4,     3,     2,      32,  64,  7,       0,    F),
        new(4,     3,     2,      64,  96,  7,       0,    F),
        new(4,     3,     2,      96,  192, 10,      0.25, M),
        new(6,     3,     1,      192, 224, 19,      0.25, M),
        new(6,     3,     2,      224, 384, 25,      0.25, M),
        new(6,     3,     1,      384, 640, 7,       0.25, M),
    ];
}
