using System.Globalization;
using System.Text;

namespace EfficientNet.Cli.Output;

/// <summary>
/// Text that reaches the terminal: file names, class names and labels come from whoever made the files, and an escape
/// sequence in one could retitle or recolour the terminal, or a line break forge a line of output. Every message the
/// commands print goes through <see cref="Safe"/>.
/// </summary>
internal static class Terminal
{
    /// <summary><paramref name="text"/> with each control character written as <c>\n</c>, <c>\r</c>, <c>\t</c> or <c>\u001B</c>, so it prints inert on one line.</summary>
    public static string Safe(string text)
    {
        if (!text.Any(char.IsControl)) return text;
        var safe = new StringBuilder(text.Length + 8);
        foreach (char c in text)
        {
            safe.Append(c switch
            {
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                _ when char.IsControl(c) => string.Create(CultureInfo.InvariantCulture, $"\\u{(int)c:X4}"),
                _ => c.ToString(),
            });
        }
        return safe.ToString();
    }

    /// <summary>
    /// A library exception's message in the command line's words: without .NET's <c>(Parameter 'name')</c> suffix, and
    /// with the option names of the API that the commands set from flags replaced by the flags.
    /// </summary>
    public static string InFlagWords(Exception e)
    {
        string message = e.Message;
        if (e is ArgumentException { ParamName: { } name })
        {
            string suffix = $" (Parameter '{name}')";
            if (message.EndsWith(suffix, StringComparison.Ordinal)) message = message[..^suffix.Length];
        }
        return message.Replace("as WeightsPath", "with --weights", StringComparison.Ordinal)
            .Replace("pass WeightsPath", "pass --weights", StringComparison.Ordinal)
            .Replace("WeightsPath or UseRandomWeights", "--weights or --random-weights", StringComparison.Ordinal);
    }

    /// <summary>Writes <c>prefix: message</c> to standard error, made <see cref="Safe"/>.</summary>
    public static void Error(string prefix, string message) => Console.Error.WriteLine($"{prefix}: {Safe(message)}");
}
