namespace EfficientNet.Cli.Arguments;

/// <summary>
/// Flags whose value names one of several choices: the help text that lists them, and the parse whose error names the
/// flag and the valid values.
/// </summary>
internal static class Choices
{
    /// <summary>Help text listing a name table's values: <c>a, b or c.</c></summary>
    public static string Alternatives(IReadOnlyList<string> names) => $"{string.Join(", ", names.Take(names.Count - 1))} or {names[^1]}.";

    /// <summary>The member of <typeparamref name="T"/> named <paramref name="value"/> (dashes ignored, any case).</summary>
    /// <exception cref="ArgumentException">No member has that name; the message names <paramref name="flag"/> and the valid values.</exception>
    public static T ParseEnum<T>(string value, string flag) where T : struct, Enum =>
        Enum.TryParse<T>(value.Replace("-", "", StringComparison.Ordinal), ignoreCase: true, out var parsed)
            ? parsed
            : throw new ArgumentException($"Unknown {flag} '{value}'. Valid: {string.Join(", ", Enum.GetNames<T>().Select(n => n.ToLowerInvariant()))}.");

    /// <summary>
    /// <paramref name="value"/> parsed by a name table's <paramref name="parse"/> (<c>ScheduleKinds.Parse</c>, …), whose
    /// error names the value but not the flag it came from.
    /// </summary>
    /// <exception cref="ArgumentException">An unknown name; the message names <paramref name="flag"/> and <paramref name="names"/>.</exception>
    public static T ParseName<T>(string value, string flag, IReadOnlyList<string> names, Func<string, T> parse)
    {
        try
        {
            return parse(value);
        }
        catch (ArgumentException)
        {
            throw new ArgumentException($"Unknown {flag} '{value}'. Valid: {string.Join(", ", names)}.");
        }
    }
}
