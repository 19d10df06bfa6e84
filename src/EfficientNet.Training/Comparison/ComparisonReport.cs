using Microsoft.ML.EfficientNet.IO;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.ML.EfficientNet;
using Microsoft.ML.EfficientNet.Architecture;

namespace EfficientNet.Training.Comparison;

/// <summary>The files <see cref="ComparisonReport.Write"/> wrote.</summary>
/// <param name="Json"><c>results.json</c>: an array with one object per candidate.</param>
/// <param name="Csv"><c>results.csv</c>: the same rows.</param>
/// <param name="Plots">The PNG plots (accuracy against parameters, MACs, latency; the scaling study's when there is one).</param>
/// <param name="Html"><c>report.html</c>: table, plots and recommendation.</param>
internal sealed record ComparisonReportFiles(string Json, string Csv, IReadOnlyList<string> Plots, string Html);

/// <summary>
/// Writes a comparison's report, the same for API users and the CLI: <c>results.json</c>, <c>results.csv</c>, PNG plots
/// of accuracy against parameters, MACs and latency with the Pareto front marked (and <c>scaling.png</c> for a scaling
/// study), and <c>report.html</c> linking them. Every file is written atomically.
/// </summary>
internal static class ComparisonReport
{
    /// <summary>
    /// The column names of <c>results.csv</c> and the keys of each <c>results.json</c> object, in order. Accuracies, their
    /// 95 % interval (<c>accuracy_ci_low</c>, <c>accuracy_ci_high</c>) and the held-out majority-class rate
    /// (<c>chance_accuracy</c>) are in percent. Numbers that could not be measured are <c>null</c> in JSON and empty in
    /// CSV; <c>top5</c> is measured only with more than five classes.
    /// </summary>
    public static IReadOnlyList<string> Fields { get; } =
    [
        "variant", "status", "error", "strategy", "image_size", "width", "depth", "resolution", "dropout", "classes", "accuracy", "accuracy_ci_low", "accuracy_ci_high",
        "chance_accuracy", "macro_f1", "top5", "params", "macs",
        "onnx_bytes", "latency_ms", "latency_p95_ms", "throughput", "train_seconds", "peak_memory_mb", "epochs", "time_limited", "meets_constraints",
        "violations", "recommended", "reused", "scaling", "scaling_factor", "finished_utc", "model",
    ];

    /// <summary>Writes every file of the report into <paramref name="directory"/>.</summary>
    /// <param name="result">The comparison.</param>
    /// <param name="directory">Target folder (created when missing); usually <see cref="ComparisonResult.OutputDirectory"/>.</param>
    public static ComparisonReportFiles Write(ComparisonResult result, string directory)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Directory.CreateDirectory(directory);
        string json = Path.Combine(directory, "results.json"), csv = Path.Combine(directory, "results.csv"), html = Path.Combine(directory, "report.html");
        AtomicFile.Write(json, stream =>
        {
            using var writer = new Utf8JsonWriter(stream, JsonFormat.Writer);
            writer.WriteStartArray();
            foreach (var c in result.Candidates)
                WriteRow(writer, c, result.MeetsConstraints(c), result.Violations[c.Name], ReferenceEquals(c, result.Recommended));
            writer.WriteEndArray();
        });
        AtomicFile.WriteAllBytes(csv, Encoding.UTF8.GetBytes(Csv(result)));
        var plots = ComparisonPlots.Write(result, directory);
        AtomicFile.WriteAllBytes(html, Encoding.UTF8.GetBytes(Html(result, plots.Select(Path.GetFileName).ToList()!)));
        return new ComparisonReportFiles(json, csv, plots, html);
    }

    /// <summary>
    /// The line a person reads first: <c>Recommended: b1 (accuracy 91.2 %, 95 % interval …): …</c>, or
    /// <c>Recommended: none — …</c> (for example <c>Recommended: none — no candidate learned beyond chance (33.33 %): …</c>).
    /// </summary>
    /// <param name="result">The comparison.</param>
    public static string RecommendedLine(ComparisonResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        string sentence = result.Recommendation.EndsWith('.') ? result.Recommendation : result.Recommendation + ".";
        return result.Recommended is null ? $"Recommended: none — {sentence}" : $"Recommended: {sentence}";
    }

    /// <summary>A 95 % interval as the table and report print it: <c>19.5–50.6</c> (percent), or – when not measured.</summary>
    /// <param name="candidate">A candidate's result.</param>
    public static string IntervalText(CandidateResult candidate)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        return double.IsFinite(candidate.AccuracyLow) ? string.Create(CultureInfo.InvariantCulture, $"{candidate.AccuracyLow:F1}–{candidate.AccuracyHigh:F1}") : "–";
    }

    /// <summary>
    /// The held-out majority-class rate in percent (the same for every candidate: they share the held-out split), or NaN
    /// when no candidate was measured.
    /// </summary>
    /// <param name="result">The comparison.</param>
    public static double ChanceAccuracy(ComparisonResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return result.Candidates.Select(r => r.ChanceAccuracy).FirstOrDefault(double.IsFinite, double.NaN);
    }

    /// <summary>True when some candidate has a top-5 accuracy (the data has more than five classes); tables show the column only then.</summary>
    /// <param name="result">The comparison.</param>
    public static bool HasTop5(ComparisonResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return result.Candidates.Any(r => double.IsFinite(r.Top5));
    }

    internal static void WriteRow(Utf8JsonWriter w, CandidateResult c, bool? meetsConstraints, IReadOnlyList<string>? violations, bool recommended)
    {
        w.WriteStartObject();
        w.WriteString("variant", c.Name);
        w.WriteString("status", StatusName(c.Status));
        if (c.Error is null) w.WriteNull("error"); else w.WriteString("error", c.Error);
        w.WriteString("strategy", StrategyName(c.Strategy));
        w.WriteNumber("image_size", c.ImageSize);
        w.WriteNumber("width", c.Variant.WidthMultiplier);
        w.WriteNumber("depth", c.Variant.DepthMultiplier);
        w.WriteNumber("resolution", c.Variant.Resolution);
        w.WriteNumber("dropout", c.Variant.Dropout);
        w.WriteNumber("classes", c.Classes);
        Number(w, "accuracy", c.Accuracy);
        Number(w, "accuracy_ci_low", c.AccuracyLow);
        Number(w, "accuracy_ci_high", c.AccuracyHigh);
        Number(w, "chance_accuracy", c.ChanceAccuracy);
        Number(w, "macro_f1", c.MacroF1);
        Number(w, "top5", c.Top5);
        w.WriteNumber("params", c.Parameters);
        w.WriteNumber("macs", c.Macs);
        w.WriteNumber("onnx_bytes", c.OnnxBytes);
        Number(w, "latency_ms", c.LatencyMilliseconds);
        Number(w, "latency_p95_ms", c.LatencyP95Milliseconds);
        Number(w, "throughput", c.Throughput);
        Number(w, "train_seconds", c.TrainSeconds);
        Number(w, "peak_memory_mb", c.PeakMemoryMegabytes);
        w.WriteNumber("epochs", c.Epochs);
        w.WriteBoolean("time_limited", c.TimeLimited);
        if (meetsConstraints is { } meets) w.WriteBoolean("meets_constraints", meets);
        if (violations is not null)
        {
            w.WriteStartArray("violations");
            foreach (string v in violations) w.WriteStringValue(v);
            w.WriteEndArray();
            w.WriteBoolean("recommended", recommended);
        }
        w.WriteBoolean("reused", c.Reused);
        if (c.ScalingDimension is null) w.WriteNull("scaling"); else w.WriteString("scaling", c.ScalingDimension);
        if (c.ScalingFactor is { } f) w.WriteNumber("scaling_factor", f); else w.WriteNull("scaling_factor");
        w.WriteString("finished_utc", c.FinishedUtc.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture));
        if (c.ModelPath is null) w.WriteNull("model"); else w.WriteString("model", c.ModelPath);
        w.WriteEndObject();
    }

    internal static CandidateResult ReadRow(JsonElement e)
    {
        double D(string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : double.NaN;
        string? S(string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        string name = S("variant") ?? throw new KeyNotFoundException("variant");
        var variant = new EfficientNetVariant(name, D("width"), D("depth"), (int)D("resolution"), D("dropout"));
        // A named variant (B0–B7, V2) carries its own stage table, which the row does not store: match on the numbers.
        if (EfficientNetVariant.TryParse(name, out var named)
            && (named.WidthMultiplier, named.DepthMultiplier, named.Resolution, named.Dropout) == (variant.WidthMultiplier, variant.DepthMultiplier, variant.Resolution, variant.Dropout))
            variant = named;
        return new CandidateResult
        {
            Name = name,
            Variant = variant,
            Strategy = S("strategy") == "features" ? ComparisonStrategy.Features : ComparisonStrategy.FineTune,
            Status = Enum.Parse<CandidateStatus>(S("status") ?? "failed", ignoreCase: true),
            Error = S("error"),
            ImageSize = (int)D("image_size"),
            Classes = (int)D("classes"),
            Accuracy = D("accuracy"),
            MacroF1 = D("macro_f1"),
            Top5 = D("top5"),
            Parameters = e.GetProperty("params").GetInt64(),
            Macs = e.GetProperty("macs").GetInt64(),
            OnnxBytes = e.GetProperty("onnx_bytes").GetInt64(),
            LatencyMilliseconds = D("latency_ms"),
            LatencyP95Milliseconds = D("latency_p95_ms"),
            Throughput = D("throughput"),
            TrainSeconds = D("train_seconds"),
            PeakMemoryMegabytes = D("peak_memory_mb"),
            Epochs = (int)D("epochs"),
            TimeLimited = e.TryGetProperty("time_limited", out var t) && t.ValueKind == JsonValueKind.True,
            ScalingDimension = S("scaling"),
            ScalingFactor = double.IsNaN(D("scaling_factor")) ? null : D("scaling_factor"),
            FinishedUtc = DateTime.Parse(S("finished_utc") ?? throw new KeyNotFoundException("finished_utc"), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind),
            ModelPath = S("model"),
        };
    }

    private static void Number(Utf8JsonWriter w, string name, double value)
    {
        if (double.IsFinite(value)) w.WriteNumber(name, value); else w.WriteNull(name);
    }

    /// <summary>A status as results.json writes it: <c>succeeded</c>, <c>failed</c>, <c>skipped</c>, <c>cancelled</c>.</summary>
    /// <param name="status">The status.</param>
    public static string StatusName(CandidateStatus status) => status.ToString().ToLowerInvariant();

    internal static string StrategyName(ComparisonStrategy strategy) => strategy == ComparisonStrategy.FineTune ? "fine-tune" : "features";

    private static string Csv(ComparisonResult result)
    {
        var c = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        text.AppendLine(string.Join(",", Fields));
        foreach (var r in result.Candidates)
        {
            string N(double v) => double.IsFinite(v) ? v.ToString("R", c) : "";
            var cells = new[]
            {
                r.Name, StatusName(r.Status), r.Error ?? "", StrategyName(r.Strategy), r.ImageSize.ToString(c), r.Variant.WidthMultiplier.ToString("R", c),
                r.Variant.DepthMultiplier.ToString("R", c), r.Variant.Resolution.ToString(c), r.Variant.Dropout.ToString("R", c), r.Classes.ToString(c), N(r.Accuracy), N(r.AccuracyLow), N(r.AccuracyHigh), N(r.ChanceAccuracy), N(r.MacroF1), N(r.Top5), r.Parameters.ToString(c),
                r.Macs.ToString(c), r.OnnxBytes.ToString(c), N(r.LatencyMilliseconds), N(r.LatencyP95Milliseconds), N(r.Throughput), N(r.TrainSeconds),
                N(r.PeakMemoryMegabytes), r.Epochs.ToString(c), r.TimeLimited ? "true" : "false", result.MeetsConstraints(r) ? "true" : "false",
                string.Join("; ", result.Violations[r.Name]), ReferenceEquals(r, result.Recommended) ? "true" : "false", r.Reused ? "true" : "false",
                r.ScalingDimension ?? "", r.ScalingFactor?.ToString("R", c) ?? "", r.FinishedUtc.ToUniversalTime().ToString("O", c), r.ModelPath ?? "",
            };
            text.AppendLine(string.Join(",", cells.Select(Quote)));
        }
        return text.ToString();

        static string Quote(string cell) => cell.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + cell.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : cell;
    }

    private static string Html(ComparisonResult result, IReadOnlyList<string> plots)
    {
        var c = CultureInfo.InvariantCulture;
        static string E(string s) => WebUtility.HtmlEncode(s);
        string N(double v, string format) => double.IsFinite(v) ? v.ToString(format, c) : "–";
        var html = new StringBuilder();
        html.AppendLine("<!DOCTYPE html>");
        html.AppendLine("<html lang=\"en\"><head><meta charset=\"utf-8\"><title>EfficientNet comparison</title>");
        html.AppendLine("<style>body{font-family:sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}" +
            "th{background:#f0f0f0}td:first-child,th:first-child{text-align:left}tr.rec{background:#fff3d6;font-weight:bold}tr.bad td{color:#999}" +
            "img{max-width:100%;border:1px solid #ddd;margin:0.5em 0}.rec-line{font-size:1.2em;padding:0.6em;background:#eef6ee;border-left:4px solid #3a3}</style></head><body>");
        html.AppendLine("<h1>EfficientNet comparison</h1>");
        html.AppendLine($"<p class=\"rec-line\">{E(RecommendedLine(result))}</p>");
        var k = result.Constraints;
        var limits = new List<string>();
        if (k.MaxLatencyMilliseconds is { } l) limits.Add(string.Create(c, $"latency ≤ {l} ms"));
        if (k.MaxParameters is { } p) limits.Add(string.Create(c, $"parameters ≤ {p:N0}"));
        if (k.MaxModelMegabytes is { } m) limits.Add(string.Create(c, $"model ≤ {m} MB"));
        if (k.MinAccuracy is { } a) limits.Add(string.Create(c, $"accuracy ≥ {a} %"));
        html.AppendLine($"<p>{result.TrainImages:N0} training and {result.HeldOutImages:N0} held-out images, {result.ClassNames.Count} classes " +
            $"({E(string.Join(", ", result.ClassNames))}). Ranked by {(result.Metric == ComparisonMetric.MacroF1 ? "macro-F1" : "accuracy")}. " +
            $"Constraints: {(limits.Count == 0 ? "none" : E(string.Join(", ", limits)))}. Latency and throughput were measured on this machine " +
            $"({Environment.ProcessorCount} logical processors) through the featurizer's batched path.</p>");
        double chance = ChanceAccuracy(result);
        if (double.IsFinite(chance))
        {
            string overlap = result.Metric == ComparisonMetric.Accuracy
                ? string.Create(c, $"; candidates whose intervals overlap the best one's are indistinguishable on these {result.HeldOutImages:N0} images, and the cheapest of them is recommended")
                : "";
            html.AppendLine(string.Create(c, $"<p>Chance: always answering the held-out split's most frequent class scores {chance:F2} %. A candidate is recommended only " +
                $"when the lower end of its accuracy's 95 % interval lies above that{overlap}.</p>"));
        }
        bool top5 = HasTop5(result);
        html.AppendLine("<table><tr><th>candidate</th><th>status</th><th>px</th><th>accuracy %</th><th>95 % interval</th><th>macro-F1</th>" + (top5 ? "<th>top-5 %</th>" : "") +
            "<th>params (M)</th><th>MACs (M)</th><th>ONNX (MB)</th><th>p50 ms</th><th>p95 ms</th><th>img/s</th><th>train s</th><th>peak MB</th><th>meets</th><th>notes</th></tr>");
        foreach (var r in result.Candidates)
        {
            bool ok = r.Status == CandidateStatus.Succeeded;
            string cls = ReferenceEquals(r, result.Recommended) ? " class=\"rec\"" : ok ? "" : " class=\"bad\"";
            var noteList = result.Violations[r.Name].Concat(r.Reused ? ["reused"] : []).Concat(r.TimeLimited ? [$"time-limited after {r.Epochs} epochs"] : []).ToList();
            if (r.Chance is { Count: > 0 } judged && !judged.AboveChance) noteList.Insert(0, "at chance");
            string notes = string.Join("; ", noteList);
            html.AppendLine(string.Create(c, $"<tr{cls}><td>{E(r.Name)}</td><td>{StatusName(r.Status)}</td><td>{r.ImageSize}</td><td>{N(r.Accuracy, "F2")}</td><td>{IntervalText(r)}</td>" +
                $"<td>{N(r.MacroF1, "F4")}</td>{(top5 ? $"<td>{N(r.Top5, "F2")}</td>" : "")}<td>{r.Parameters / 1e6:F2}</td><td>{r.Macs / 1e6:F1}</td>" +
                $"<td>{(r.OnnxBytes > 0 ? (r.OnnxBytes / 1e6).ToString("F2", c) : "–")}</td>" +
                $"<td>{N(r.LatencyMilliseconds, "F2")}</td><td>{N(r.LatencyP95Milliseconds, "F2")}</td><td>{N(r.Throughput, "F0")}</td><td>{N(r.TrainSeconds, "F1")}</td>" +
                $"<td>{N(r.PeakMemoryMegabytes, "F0")}</td><td>{(result.MeetsConstraints(r) ? "yes" : "no")}</td><td>{E(notes)}</td></tr>"));
        }
        html.AppendLine("</table>");
        html.AppendLine("<h2>Plots</h2><p>Orange points joined by a line are the Pareto front: no other candidate is both cheaper and more accurate. " +
            (result.Metric == ComparisonMetric.Accuracy ? "Bars are 95 % intervals; the dashed line is chance (the majority-class rate).</p>" : "Ranked by macro-F1, which has no interval here: the plots have no bars and no chance line.</p>"));
        foreach (string plot in plots) html.AppendLine($"<p><img src=\"{E(plot)}\" alt=\"{E(Path.GetFileNameWithoutExtension(plot).Replace('_', ' '))}\"></p>");
        html.AppendLine("<p>Files: <a href=\"results.json\">results.json</a>, <a href=\"results.csv\">results.csv</a>; each candidate's model is in its own folder.</p>");
        html.AppendLine("</body></html>");
        return html.ToString();
    }
}
