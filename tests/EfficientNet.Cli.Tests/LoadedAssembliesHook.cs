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

    /// <summary>Called by the runtime before the program's <c>Main</c>.</summary>
    public static void Initialize()
    {
        string? file = Environment.GetEnvironmentVariable(FileVariable);
        if (string.IsNullOrEmpty(file)) return;
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
            File.WriteAllLines(file, AppDomain.CurrentDomain.GetAssemblies().Select(a => a.GetName().Name ?? "").Order(StringComparer.Ordinal));
    }
}
