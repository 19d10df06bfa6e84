namespace Microsoft.ML.EfficientNet.Weights;

/// <summary>A tensor whose shape differs between the checkpoint and the network.</summary>
/// <param name="Key">The key as written in the checkpoint.</param>
/// <param name="Expected">The network's shape, for example <c>[32, 3, 3, 3]</c>.</param>
/// <param name="Actual">The checkpoint's shape.</param>
internal sealed record ShapeMismatch(string Key, string Expected, string Actual);

/// <summary>
/// A checkpoint does not fit the network it is loaded into. The message names every missing, unexpected and
/// shape-mismatched key; the lists are also available as properties.
/// </summary>
internal sealed class CheckpointMismatchException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">The full message.</param>
    /// <param name="missing">Keys the network needs that the checkpoint lacks (in the checkpoint's naming).</param>
    /// <param name="unexpected">Keys of the checkpoint the network does not have.</param>
    /// <param name="mismatched">Keys present in both with different shapes.</param>
    internal CheckpointMismatchException(string message, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected, IReadOnlyList<ShapeMismatch> mismatched)
        : base(message)
    {
        Missing = missing;
        Unexpected = unexpected;
        Mismatched = mismatched;
    }

    /// <summary>Keys the network needs that the checkpoint lacks.</summary>
    public IReadOnlyList<string> Missing { get; }

    /// <summary>Keys of the checkpoint the network does not have.</summary>
    public IReadOnlyList<string> Unexpected { get; }

    /// <summary>Keys present in both with different shapes.</summary>
    internal IReadOnlyList<ShapeMismatch> Mismatched { get; }
}
