using Microsoft.ML.EfficientNet.Architecture;
using static TorchSharp.torch;

namespace EfficientNet.Training.Modules;

/// <summary>Draws a tensor's first values as a <see cref="TensorInit"/> of <see cref="TorchvisionInit"/> says, with libtorch's seeded generator.</summary>
internal static class Initialization
{
    /// <summary>Fills <paramref name="tensor"/> in place (no gradient recorded).</summary>
    /// <param name="tensor">The parameter or buffer.</param>
    /// <param name="init">The distribution.</param>
    public static void Apply(Tensor tensor, TensorInit init)
    {
        using var noGrad = no_grad();
        switch (init.Distribution)
        {
            case InitDistribution.Normal: tensor.normal_(0, init.Scale); break;
            case InitDistribution.Uniform: tensor.uniform_(-init.Scale, init.Scale); break;
            case InitDistribution.Ones: tensor.fill_(1); break;
            default: tensor.zero_(); break;
        }
    }
}
