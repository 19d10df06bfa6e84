using System.Diagnostics;

namespace EfficientNet.Cli.Bench.Machine;

/// <summary>The machine a benchmark ran on, and the process's peak resident memory.</summary>
internal static class MachineDescription
{
    /// <summary>The CPU's model name (Linux <c>/proc/cpuinfo</c>), else the architecture.</summary>
    public static string CpuModel()
    {
        try
        {
            if (File.Exists("/proc/cpuinfo"))
                foreach (string line in File.ReadLines("/proc/cpuinfo"))
                    if (line.StartsWith("model name", StringComparison.Ordinal)) return line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException)
        {
        }
        return System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString();
    }

    /// <summary>CPU flags of interest to inference (AVX2, AVX-512F, AVX-512 VNNI), from <c>/proc/cpuinfo</c>.</summary>
    public static string SimdFlags()
    {
        try
        {
            if (!File.Exists("/proc/cpuinfo")) return "";
            var flags = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal))?.Split(' ').ToHashSet() ?? [];
            return string.Join(", ", new[] { ("avx2", "AVX2"), ("avx512f", "AVX-512"), ("avx512_vnni", "AVX-512 VNNI") }.Where(f => flags.Contains(f.Item1)).Select(f => f.Item2));
        }
        catch (IOException)
        {
            return "";
        }
    }

    /// <summary>
    /// Resets the peak resident set size the kernel keeps for this process (Linux ≥ 4.0: writing 5 to
    /// <c>/proc/self/clear_refs</c>), so the next <see cref="PeakResidentMegabytes"/> covers only what follows. False
    /// where that is not possible; the peak then covers the whole process.
    /// </summary>
    public static bool ResetPeakResident()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Peak resident set size in MB (<c>VmHWM</c> on Linux, else the process's peak working set).</summary>
    public static double PeakResidentMegabytes()
    {
        try
        {
            if (File.Exists("/proc/self/status"))
                foreach (string line in File.ReadLines("/proc/self/status"))
                    if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                        return long.Parse(line[6..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) / 1024.0;
        }
        catch (IOException)
        {
        }
        return Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024.0);
    }

    /// <summary>The 1-minute load average (Linux <c>/proc/loadavg</c>), or "unknown".</summary>
    public static string LoadAverage()
    {
        try
        {
            return File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "unknown";
        }
        catch (IOException)
        {
            return "unknown";
        }
    }
}
