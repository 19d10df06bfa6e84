using TorchSharp;

namespace EfficientNet.Training.Modules;

/// <summary>
/// Scalars kept alive until the end of a <c>using</c> scope, for arithmetic between tensors and numbers in the
/// training loop.
/// </summary>
/// <remarks>
/// TorchSharp turns a number passed to a tensor method into a temporary <see cref="Scalar"/> that nothing references
/// once its handle has been read, and frees its native half in the finalizer. If a garbage collection (the data loader's
/// threads allocate constantly) finalises it while libtorch still reads it, the step fails with "Unknown scalar type"
/// or a bad <c>toFloat</c>. Passing scalars that this scope owns closes that window. Usage:
/// <c>using var s = new HeldScalars(); m.mul_(s[beta]).add_(grad, s[1 - beta]);</c>
/// </remarks>
internal sealed class HeldScalars : IDisposable
{
    private readonly List<Scalar> _held = [];

    /// <summary>The floating-point 1, alive for the whole process (the alpha of a plain <c>add_</c>).</summary>
    public static Scalar One { get; } = 1.0.ToScalar();

    /// <summary>The integer 1, alive for the whole process (integer tensors refuse a floating-point alpha).</summary>
    public static Scalar IntegerOne { get; } = 1L.ToScalar();

    /// <summary>A scalar for <paramref name="value"/> that lives until this scope is disposed.</summary>
    public Scalar this[double value]
    {
        get
        {
            var scalar = value.ToScalar();
            _held.Add(scalar);
            return scalar;
        }
    }

    /// <summary>Frees every scalar made by this scope.</summary>
    public void Dispose()
    {
        foreach (var scalar in _held) scalar.Dispose();
        _held.Clear();
    }
}
