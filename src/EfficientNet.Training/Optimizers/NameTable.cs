namespace EfficientNet.Training.Optimizers;

/// <summary>Parsing shared by the name tables of <see cref="OptimizerKinds"/> and <see cref="ScheduleKinds"/>.</summary>
internal static class NameTable
{
    /// <summary>
    /// The member of <typeparamref name="T"/> named <paramref name="name"/> in <paramref name="names"/> (one name per
    /// member, in declaration order), or by its C# name without dashes, ignoring case in both.
    /// </summary>
    public static T Parse<T>(IReadOnlyList<string> names, string name, string what) where T : struct, Enum
    {
        ArgumentNullException.ThrowIfNull(name);
        var members = Enum.GetValues<T>();
        string key = name.Trim();
        for (int i = 0; i < names.Count; i++)
        {
            if (string.Equals(names[i], key, StringComparison.OrdinalIgnoreCase)) return members[i];
        }
        foreach (var member in members)
        {
            if (string.Equals(member.ToString(), key.Replace("-", "", StringComparison.Ordinal), StringComparison.OrdinalIgnoreCase)) return member;
        }
        throw new ArgumentException($"Unknown {what} '{name}'. Valid: {string.Join(", ", names)}.", nameof(name));
    }
}
