using System.Globalization;
using EfficientNet.Cli.Bench.Measuring;
using Microsoft.ML;

namespace EfficientNet.Cli.Bench.Machine;

/// <summary>
/// The machine facts a bench report carries, under the keys of its <c>machine</c> JSON object: CPU and SIMD flags,
/// cores, memory, OS, the .NET, ONNX Runtime and ML.NET versions, and the load average at the start and the end.
/// </summary>
internal static class MachineFacts
{
    /// <summary>The facts, for a run that saw <paramref name="loadBefore"/> at its start and ran on <paramref name="cores"/> cores.</summary>
    public static Dictionary<string, string> Describe(int cores, string loadBefore) => new()
    {
        ["cpu"] = MachineDescription.CpuModel(),
        ["simd"] = MachineDescription.SimdFlags(),
        ["cores"] = cores.ToString(CultureInfo.InvariantCulture),
        ["memoryGB"] = (GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 1e9).ToString("F0", CultureInfo.InvariantCulture),
        ["os"] = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
        ["dotnet"] = Environment.Version.ToString(),
        ["onnxRuntime"] = OnnxRuntimeThroughput.Version(),
        ["mlnet"] = InformationalVersion(typeof(MLContext).Assembly),
        // Load from other processes on a shared machine moves every figure; ratios from one run hold better.
        ["loadAverage"] = $"{loadBefore} at the start, {MachineDescription.LoadAverage()} at the end",
    };

    private static string InformationalVersion(System.Reflection.Assembly assembly) =>
        (System.Reflection.CustomAttributeExtensions.GetCustomAttribute<System.Reflection.AssemblyInformationalVersionAttribute>(assembly)?.InformationalVersion ?? assembly.GetName().Version?.ToString() ?? "").Split('+')[0];
}
