namespace EfficientNet.Cli.Output;

/// <summary>CSV output of predict and featurize.</summary>
internal static class Csv
{
    /// <summary>
    /// A text cell: neutralised against formula injection, then RFC 4180 quoting (a field with a comma, quote or line
    /// break is quoted, quotes doubled). Labels and paths come from model metadata and folder names, which whoever made
    /// them controls; a spreadsheet would run a cell that starts with =, +, - or @ (or a tab or carriage return before
    /// one) as a formula, so such a cell gets OWASP's prefix, a single quote. Numbers are written without this.
    /// </summary>
    public static string Field(string value)
    {
        if (value.Length > 0 && value[0] is '=' or '+' or '-' or '@' or '\t' or '\r') value = "'" + value;
        return value.IndexOfAny([',', '"', '\n', '\r']) < 0 ? value : "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
    }
}
