using Microsoft.ML.EfficientNet.Architecture;

namespace Microsoft.ML.EfficientNet.Weights;

/// <summary>
/// One tensor of a checkpoint, converted to float32 in row-major (C) order. Integer tensors such as
/// <c>num_batches_tracked</c> are converted too; EfficientNet has no integer tensor whose exact value matters.
/// </summary>
internal sealed class WeightTensor
{
    /// <summary>Creates a tensor from a shape and row-major values.</summary>
    /// <param name="shape">Dimensions; empty for a scalar.</param>
    /// <param name="values">Row-major values; the length must equal the product of <paramref name="shape"/>.</param>
    /// <param name="sourceType">The element type the values had in the file (for messages), default <c>float32</c>.</param>
    public WeightTensor(long[] shape, float[] values, string sourceType = "float32")
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(values);
        long count = shape.Aggregate(1L, (a, b) => a * b);
        if (count != values.Length)
            throw new ArgumentException($"Shape {TensorSpec.FormatShape(shape)} holds {count} values but {values.Length} were given.", nameof(values));
        Shape = shape;
        Values = values;
        SourceType = sourceType;
    }

    /// <summary>Dimensions; empty for a scalar.</summary>
    public long[] Shape { get; }

    /// <summary>Row-major float32 values. Shared, not copied: treat as read-only unless you own the tensor.</summary>
    public float[] Values { get; }

    /// <summary>Element type in the source file: <c>float32</c>, <c>float16</c>, <c>bfloat16</c>, <c>float64</c>, <c>int64</c> ….</summary>
    public string SourceType { get; }

    /// <summary>Number of elements.</summary>
    public long ElementCount => Values.Length;

    /// <summary>The shape written as <c>[32, 3, 3, 3]</c>.</summary>
    public string ShapeText => TensorSpec.FormatShape(Shape);

    /// <summary>True when <paramref name="shape"/> has the same dimensions.</summary>
    /// <param name="shape">The shape to compare with.</param>
    public bool HasShape(IReadOnlyList<long> shape) => Shape.AsSpan().SequenceEqual(shape.ToArray());
}
