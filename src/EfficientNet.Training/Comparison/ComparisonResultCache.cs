using System.Text;
using System.Text.Json;
using Microsoft.ML.EfficientNet.Data;
using Microsoft.ML.EfficientNet.IO;

namespace EfficientNet.Training.Comparison;

/// <summary>
/// A comparison's saved results, as ML.NET AutoML's trial result manager keeps trials: one folder per candidate under
/// the output folder, holding the fingerprint of everything that changes its numbers (<c>settings.json</c>) and, once
/// it succeeded, its result (<c>result.json</c>). A saved result is reused only under the same fingerprint and while
/// its model file exists; a training run left by other settings is removed rather than resumed.
/// </summary>
internal sealed class ComparisonResultCache(string outputDirectory, EfficientNetComparisonSettings settings, ICandidateStrategy strategy)
{
    private const string ResultFile = "result.json", SettingsFile = "settings.json", RunFolder = "run";

    /// <summary>Where a fine-tuned candidate's training run lives inside its <paramref name="folder"/>: removed when the fingerprint changes.</summary>
    public static string RunFolderOf(string folder) => Path.Combine(folder, RunFolder);

    /// <summary>The folder of the candidate named <paramref name="name"/>.</summary>
    public string FolderOf(string name) => Path.Combine(outputDirectory, FolderName(name));

    /// <summary>Everything that changes a candidate's numbers; a saved result with another fingerprint is not reused.</summary>
    /// <param name="candidate">The candidate.</param>
    /// <param name="size">The side it trains and scores at.</param>
    /// <param name="train">The training split.</param>
    /// <param name="heldOut">The held-out split.</param>
    public string Fingerprint(ComparisonCandidate candidate, int size, LabeledImageSet train, LabeledImageSet heldOut)
    {
        var s = settings;
        var own = strategy.Fingerprint(candidate, size);
        // Field names and order are those of results already saved: changing them would measure every candidate again.
        return JsonSerializer.Serialize(new
        {
            variant = new { candidate.Variant.Name, candidate.Variant.WidthMultiplier, candidate.Variant.DepthMultiplier, candidate.Variant.Resolution, candidate.Variant.Dropout },
            strategy = s.Strategy.ToString(),
            size,
            weights = candidate.WeightsPath is { } w ? Path.GetFullPath(w) : null,
            initialWeights = own.InitialWeights,
            epochs = own.Epochs,
            timePerCandidate = s.TimePerCandidate?.TotalSeconds,
            totalTime = s.TotalTime?.TotalSeconds,
            s.Seed,
            random = s.UseRandomWeights,
            classifier = s.FeatureClassifier.ToString(),
            training = own.Training,
            classes = train.Classes,
            train = DataFingerprint(train),
            heldOut = DataFingerprint(heldOut),
        });
    }

    /// <summary>The result saved in <paramref name="folder"/> under <paramref name="fingerprint"/> whose model still exists, or null.</summary>
    public static CandidateResult? TryRead(string folder, string fingerprint)
    {
        string path = Path.Combine(folder, ResultFile);
        if (!File.Exists(path)) return null;
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path));
            if (document.RootElement.GetProperty("fingerprint").GetString() != fingerprint) return null;
            var saved = ComparisonReport.ReadRow(document.RootElement.GetProperty("result")) with { Confusion = ReadConfusion(document.RootElement.GetProperty("confusion")) };
            return saved.Status == CandidateStatus.Succeeded && saved.ModelPath is { } m && File.Exists(m) ? saved : null;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            return null; // unreadable: measure again
        }
    }

    /// <summary>Makes the candidate's folder and records the fingerprint it runs under.</summary>
    public static void Prepare(string folder, string fingerprint)
    {
        // A run folder trained with other settings must not be resumed into this candidate.
        string settingsPath = Path.Combine(folder, SettingsFile);
        if (File.Exists(settingsPath) && File.ReadAllText(settingsPath) != fingerprint && Directory.Exists(RunFolderOf(folder)))
            Directory.Delete(RunFolderOf(folder), recursive: true);
        Directory.CreateDirectory(folder);
        AtomicFile.Write(settingsPath, stream => stream.Write(Encoding.UTF8.GetBytes(fingerprint)));
    }

    /// <summary>Saves a succeeded result with its fingerprint and held-out confusion matrix.</summary>
    public static void Save(string folder, string fingerprint, CandidateResult result) =>
        AtomicFile.Write(Path.Combine(folder, ResultFile), stream =>
        {
            using var json = new Utf8JsonWriter(stream, JsonFormat.Writer);
            json.WriteStartObject();
            json.WriteString("fingerprint", fingerprint);
            json.WritePropertyName("result");
            ComparisonReport.WriteRow(json, result, meetsConstraints: null, violations: null, recommended: false);
            // The held-out confusion matrix: a reused result is judged against chance exactly as a fresh one.
            json.WriteStartArray("confusion");
            var confusion = result.Confusion!;
            for (int t = 0; t < confusion.GetLength(0); t++)
            {
                json.WriteStartArray();
                for (int p = 0; p < confusion.GetLength(1); p++) json.WriteNumberValue(confusion[t, p]);
                json.WriteEndArray();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        });

    /// <summary>A file-system-safe folder name for a candidate.</summary>
    internal static string FolderName(string name)
    {
        var invalid = Path.GetInvalidFileNameChars();
        string safe = new(name.Select(ch => invalid.Contains(ch) || ch == ' ' ? '_' : ch).ToArray());
        return safe is "." or ".." or "" ? "_" + safe : safe;
    }

    private static string DataFingerprint(LabeledImageSet images)
    {
        // Counts per class and where the first and last images come from: cheap, and different whenever the split is.
        var perClass = new int[images.Classes.Count];
        for (int i = 0; i < images.Count; i++) perClass[images.Label(i)]++;
        return string.Join(",", perClass) + (images.Count > 0 ? $"|{images.Describe(0)}|{images.Describe(images.Count - 1)}" : "");
    }

    private static long[,] ReadConfusion(JsonElement rows)
    {
        int classes = rows.GetArrayLength();
        var confusion = new long[classes, classes];
        int t = 0;
        foreach (var row in rows.EnumerateArray())
        {
            if (row.GetArrayLength() != classes) throw new FormatException($"Row {t} of the saved confusion matrix has {row.GetArrayLength()} counts, not {classes}.");
            int p = 0;
            foreach (var count in row.EnumerateArray()) confusion[t, p++] = count.GetInt64();
            t++;
        }
        return confusion;
    }
}
