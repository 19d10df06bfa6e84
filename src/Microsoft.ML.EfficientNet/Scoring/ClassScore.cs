namespace Microsoft.ML.EfficientNet.Scoring;

/// <summary>One class and its probability.</summary>
/// <param name="ClassIndex">Index of the class in logit order.</param>
/// <param name="Label">The class's label, or its index as text when the model records no labels.</param>
/// <param name="Score">Softmax probability, in [0, 1].</param>
public sealed record ClassScore(int ClassIndex, string Label, float Score);
