namespace Microsoft.ML.EfficientNet.Data;

/// <summary>A batch of normalised images and their labels.</summary>
/// <param name="Pixels">Count × 3 × size × size floats (<paramref name="ChannelsLast"/> false) or Count × size × size × 3 (true).</param>
/// <param name="Labels">Count labels.</param>
/// <param name="Count">Images in the batch (fewer than asked when images failed to load).</param>
/// <param name="Size">Image side, in pixels.</param>
/// <param name="ChannelsLast">Memory layout of <paramref name="Pixels"/>: HWC per image when true, CHW when false.</param>
internal sealed record ImageBatch(float[] Pixels, long[] Labels, int Count, int Size, bool ChannelsLast);
