namespace EfficientNetML.Testing;

/// <summary>
/// The project's parity tolerance: max |Δ| ≤ 1e-4 · max |reference| + 1e-5. Both sides compute in float32 with
/// different kernels (PyTorch 1.13 vs libtorch 2.10 vs ONNX Runtime) and different summation orders, so exact equality is
/// not expected; a wrong padding, eps or layer shows up as errors well above this bound.
/// </summary>
public static class Parity
{
    public const double RelativeTolerance = 1e-4;
    public const double AbsoluteTolerance = 1e-5;

    /// <summary>The largest absolute difference between two arrays of equal length.</summary>
    public static double MaxAbsDiff(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual)
    {
        Assert.AreEqual(expected.Length, actual.Length, "element count");
        double max = 0;
        for (int i = 0; i < expected.Length; i++) max = Math.Max(max, Math.Abs((double)expected[i] - actual[i]));
        return max;
    }

    /// <summary>The bound max |Δ| must stay under for a reference array.</summary>
    public static double Bound(ReadOnlySpan<float> expected)
    {
        double max = 0;
        foreach (float v in expected) max = Math.Max(max, Math.Abs(v));
        return RelativeTolerance * max + AbsoluteTolerance;
    }

    /// <summary>Asserts parity and returns max |Δ| for reporting.</summary>
    public static double AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what)
    {
        double diff = MaxAbsDiff(expected, actual), bound = Bound(expected);
        Assert.IsTrue(diff <= bound, $"{what}: max |Δ| = {diff:E3} exceeds {bound:E3}");
        return diff;
    }
}
