using TorchSharp.Modules;

namespace EfficientNet.Training.Optimizers;

/// <summary>Parameters that share a learning-rate multiplier and a weight decay.</summary>
/// <param name="Name">For logs: <c>backbone</c>, <c>backbone (no decay)</c>, <c>head</c> ….</param>
/// <param name="Parameters">Named parameters (names key the optimiser state in checkpoints).</param>
/// <param name="LearningRateScale">Multiplies the schedule's learning rate (for example backbone rate / head rate).</param>
/// <param name="WeightDecay">Decay coefficient; 0 for batch-norm parameters and biases.</param>
internal sealed record ParameterGroup(string Name, IReadOnlyList<(string Name, Parameter Parameter)> Parameters, double LearningRateScale, double WeightDecay);
