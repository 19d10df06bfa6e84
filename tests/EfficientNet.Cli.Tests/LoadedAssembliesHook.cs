/// <summary>
/// A startup hook that this test assembly lends to the <c>efficientnet</c> processes it starts (through
/// <c>DOTNET_STARTUP_HOOKS</c>), so that a test can see which assemblies a command loaded without the command itself
/// having a diagnostic switch: when the process exits, the names of its loaded assemblies are written, one a line, to
/// the file named by <see cref="FileVariable"/>. The runtime looks for a type named <c>StartupHook</c> in no namespace.
/// </summary>
internal static class StartupHook
{
    /// <summary>Environment variable naming the file to write; the hook does nothing without it.</summary>
    public const string FileVariable = "EFFICIENTNET_TEST_LOADED_ASSEMBLIES";

    /// <summary>Environment variable naming the file to write the paths of the loaded native libraries (.so files
    /// mapped into the process, from /proc/self/maps) to; nothing is written without it.</summary>
    public const string NativesVariable = "EFFICIENTNET_TEST_LOADED_NATIVES";

    /// <summary>Called by the runtime before the program's <c>Main</c>.</summary>
    public static void Initialize()
    {
        string? file = Environment.GetEnvironmentVariable(FileVariable);
        if (!string.IsNullOrEmpty(file))
            AppDomain.CurrentDomain.ProcessExit += (_, _) =>
                File.WriteAllLines(file, AppDomain.CurrentDomain.GetAssemblies().Select(a => a.GetName().Name ?? "").Order(StringComparer.Ordinal));
        string? natives = Environment.GetEnvironmentVariable(NativesVariable);
        if (!string.IsNullOrEmpty(natives))
            AppDomain.CurrentDomain.ProcessExit += (_, _) =>
                File.WriteAllLines(natives, File.ReadLines("/proc/self/maps").Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                    .Where(f => f.Length >= 6 && f[5].Contains(".so", StringComparison.Ordinal)).Select(f => f[5]).Distinct().Order(StringComparer.Ordinal));
    }
}
