using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace EfficientNet.Cli.Arguments;

/// <summary>
/// Every numeric flag's parse and range, checked at the edge while the command line is parsed, before any file is
/// opened: a value that does not parse or lies outside the range is one <c>error:</c> line in the flag's words with the
/// allowed range (<c>--resolution must be from 32 to 2048 pixels; got 20000.</c>), and exit code 1. NaN and infinities
/// are outside every range.
/// </summary>
internal static class Numbers
{
    /// <summary>Whole numbers from <paramref name="min"/> to <paramref name="max"/> (no upper bound: <see cref="int.MaxValue"/>).</summary>
    public static Option<int> Within(this Option<int> option, int min, int max = int.MaxValue, string? unit = null, string? why = null)
    {
        option.CustomParser = r => ParseWhole(r, option.Name, min, max, unit, why) is { } v ? (int)v : default;
        return option;
    }

    /// <summary>Any whole number (a seed): only the parse, with its error in the flag's words.</summary>
    public static Option<int> Whole(this Option<int> option) => option.Within(int.MinValue);

    /// <inheritdoc cref="Within(Option{int}, int, int, string?, string?)"/>
    public static Option<int?> Within(this Option<int?> option, int min, int max = int.MaxValue, string? unit = null, string? why = null)
    {
        option.CustomParser = r => ParseWhole(r, option.Name, min, max, unit, why) is { } v ? (int)v : null;
        return option;
    }

    /// <inheritdoc cref="Within(Option{int}, int, int, string?, string?)"/>
    public static Option<long> Within(this Option<long> option, long min, long max = long.MaxValue, string? unit = null, string? why = null)
    {
        option.CustomParser = r => ParseWhole(r, option.Name, min, max, unit, why) ?? default;
        return option;
    }

    /// <summary>Finite numbers in the interval from <paramref name="min"/> to <paramref name="max"/>, each end open or closed.</summary>
    public static Option<double> Within(this Option<double> option, double min, double max, bool openMin = false, bool openMax = false, string? why = null)
    {
        option.CustomParser = r => ParseReal(r, option.Name, min, max, openMin, openMax, why) ?? default;
        return option;
    }

    /// <inheritdoc cref="Within(Option{double}, double, double, bool, bool, string?)"/>
    public static Option<double?> Within(this Option<double?> option, double min, double max, bool openMin = false, bool openMax = false, string? why = null)
    {
        option.CustomParser = r => ParseReal(r, option.Name, min, max, openMin, openMax, why);
        return option;
    }

    private static long? ParseWhole(ArgumentResult result, string flag, long min, long max, string? unit, string? why)
    {
        string text = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
        var c = CultureInfo.InvariantCulture;
        string range = min is int.MinValue or long.MinValue ? "any whole number"
            : max is int.MaxValue or long.MaxValue
            ? string.Create(c, $"at least {min}{(unit is null ? "" : " " + unit)}")
            : string.Create(c, $"from {min} to {max}{(unit is null ? "" : " " + unit)}");
        string reason = why is null ? "" : $" ({why})";
        if (!long.TryParse(text, NumberStyles.AllowLeadingSign, c, out long value))
        {
            result.AddError(min is int.MinValue or long.MinValue ? $"{flag} '{text}' is not a whole number." : $"{flag} '{text}' is not a whole number; it must be {range}{reason}.");
            return null;
        }
        if (value < min || value > max)
        {
            result.AddError(string.Create(c, $"{flag} must be {range}{reason}; got {value}."));
            return null;
        }
        return value;
    }

    private static double? ParseReal(ArgumentResult result, string flag, double min, double max, bool openMin, bool openMax, string? why)
    {
        string text = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
        var c = CultureInfo.InvariantCulture;
        string range = double.IsPositiveInfinity(max)
            ? string.Create(c, $"{(openMin ? "a number > " : "a number ≥ ")}{min}")
            : string.Create(c, $"in {(openMin ? "(" : "[")}{min}, {max}{(openMax ? ")" : "]")}");
        string reason = why is null ? "" : $" ({why})";
        if (!double.TryParse(text, NumberStyles.Float, c, out double value))
        {
            result.AddError($"{flag} '{text}' is not a number; it must be {range}{reason}.");
            return null;
        }
        bool inside = double.IsFinite(value) && (openMin ? value > min : value >= min) && (openMax ? value < max : value <= max);
        if (!inside)
        {
            result.AddError(string.Create(c, $"{flag} must be {range}{reason}; got {text}."));
            return null;
        }
        return value;
    }
}
