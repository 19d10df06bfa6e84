using System.Globalization;

namespace EfficientNet.Cli.Bench.Reporting;

/// <summary>How the console tables and the markdown section print figures: the same text in both.</summary>
internal static class Figures
{
    /// <summary><paramref name="v"/> with thousands separators and <paramref name="digits"/> decimals, invariant culture.</summary>
    public static string F(double v, int digits = 1) => v.ToString("N" + digits, CultureInfo.InvariantCulture);

    /// <summary>
    /// The kernel table: one line per operator type of either model, slowest first, with a total line; "" where a model
    /// has no such kernel.
    /// </summary>
    public static IEnumerable<(string Operator, string Fp32, string Int8)> KernelComparison(BenchReport report)
    {
        string Time(string model, string op) => report.Kernels.FirstOrDefault(k => k.Model == model && k.Operator == op) is { } k ? F(k.MillisecondsPerBatch) : "";
        foreach (string op in report.Kernels.GroupBy(k => k.Operator).OrderByDescending(g => g.Max(k => k.MillisecondsPerBatch)).Select(g => g.Key))
            yield return (op, Time("fp32", op), Time("int8", op));
        yield return ("total", F(report.Kernels.Where(k => k.Model == "fp32").Sum(k => k.MillisecondsPerBatch)), F(report.Kernels.Where(k => k.Model == "int8").Sum(k => k.MillisecondsPerBatch)));
    }
}
