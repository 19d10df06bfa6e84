namespace EfficientNet.Training.Training;

/// <summary>
/// The training images as <c>efficientnet train</c> was told to open them (<c>--data</c>, <c>--classes</c>,
/// <c>--per-class</c>), recorded in <c>training.json</c> so that the same images can be opened again outside .NET.
/// </summary>
/// <param name="Source">An absolute image-folder path, or <c>fashion-mnist</c> / <c>fashion-mnist-test</c>.</param>
/// <param name="FashionMnistLabels">Fashion-MNIST's original labels kept, in class order; null for all ten or a folder.</param>
/// <param name="PerClass">The first N images of each class were kept; null for all.</param>
internal sealed record TrainingDataSource(string Source, IReadOnlyList<int>? FashionMnistLabels, int? PerClass);
