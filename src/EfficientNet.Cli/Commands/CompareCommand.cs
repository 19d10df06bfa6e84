using System.CommandLine;
using System.Globalization;
using System.Text.RegularExpressions;
using EfficientNet.Cli.Arguments;
using EfficientNet.Training.Comparison;
using Microsoft.Extensions.Logging;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Weights;
using Spectre.Console;

namespace EfficientNet.Cli.Commands;

/// <summary>
/// <c>efficientnet compare</c>: trains several variants on the user's images, measures them on one held-out split and
/// recommends the most accurate one that meets the constraints; writes results.json, results.csv, PNG plots and
/// report.html. A killed or extended run reuses the candidates that finished.
/// </summary>
internal static partial class CompareCommand
{
    public static Command Create()
    {
        var data = DataArguments.Data();
        var classes = DataArguments.Classes();
        var perClass = DataArguments.PerClass();
        var training = new TrainingArguments(EfficientNetComparisonSettings.Defaults.Epochs);
        var variants = new Option<string?>("--variants") { Description = "Candidates, comma-separated: b0 … b7, v2-s, v2-m, v2-l, lite0 … lite4, phi-1.5 (compound φ), w0.5-d0.5-r64 (custom width, depth, resolution). Default b0." };
        var strategy = new Option<string>("--strategy")
        {
            DefaultValueFactory = _ => "fine-tune",
            Description = "fine-tune (the TorchSharp trainer per candidate, configured by " + string.Join(", ", training.All.Select(o => o.Name)) +
                          ") or features (pretrained features + an ML.NET classifier).",
        };
        var timePerVariant = new Option<string?>("--time-per-variant") { Description = "Wall-clock limit of each candidate's training, for example 90s, 5m, 1h30m; the last finished epoch is measured." };
        var totalTime = new Option<string?>("--total-time") { Description = "Wall-clock limit of all candidates' training together; candidates left without time are skipped." };
        var maxLatency = new Option<double?>("--max-latency-ms") { Description = "Constraint: median batch-1 latency at most this many milliseconds." }.Within(0, double.PositiveInfinity, openMin: true);
        var maxParams = new Option<string?>("--max-params") { Description = "Constraint: at most this many parameters (5000000, 5e6, 5M, 500k)." };
        var maxModelMb = new Option<double?>("--max-model-mb") { Description = "Constraint: ONNX file at most this many megabytes (10^6 bytes)." }.Within(0, double.PositiveInfinity, openMin: true);
        var minAccuracy = new Option<double?>("--min-accuracy") { Description = "Constraint: held-out accuracy at least this many percent." }.Within(0, 100);
        var metric = new Option<string>("--metric") { DefaultValueFactory = _ => "accuracy", Description = "Ranking metric: accuracy or macro-f1." };
        var scaling = new Option<string?>("--scaling") { Description = "Scaling study from B0: width, depth, resolution, compound (comma list), each at the MAC budgets of --scaling-factors." };
        var scalingFactors = new Option<string>("--scaling-factors") { DefaultValueFactory = _ => "2,4", Description = "MAC budgets of the scaling study as multiples of B0's." };
        var weights = new Option<string?>("--weights") { Description = "Starting weights: one checkpoint for every candidate, or b0=FILE,b1=FILE. Default: each variant's published ImageNet weights (cache, then download)." };
        var fromScratch = new Option<bool>("--from-scratch") { Description = "Fine-tune: train candidates without --weights from random initialisation instead of their published weights (needed for custom variants and --scaling; on small data expect accuracy near chance)." };
        var randomWeights = new Option<bool>("--random-weights") { Description = "Features strategy: seeded random weights instead of published ones (demonstrations only)." };
        var holdOut = new Option<double>("--hold-out") { DefaultValueFactory = _ => EfficientNetComparisonSettings.Defaults.HoldOutFraction, Description = "Share of each class held out to measure every candidate." }.Within(0, 1, openMin: true, openMax: true);
        var output = new Option<string>("--output", "-o") { Description = "Results folder: results.json, results.csv, *.png, report.html and one folder per candidate.", Required = true };
        var command = new Command("compare", "Train several variants on your images and compare accuracy, size and speed; recommends one.")
        {
            data, classes, perClass, variants, strategy, training.Epochs, timePerVariant, totalTime, training.ImageSize, maxLatency, maxParams, maxModelMb, minAccuracy, metric,
            scaling, scalingFactors, weights, fromScratch, randomWeights, holdOut, training.BatchSize, training.LearningRate, training.Schedule, training.Warmup, training.Augment,
            training.Mean, training.Std, training.CropFraction, training.Seed, training.Threads, training.NoResume, output,
        };
        command.SetAction(result =>
        {
            var shared = training.Read(result);
            // Before the data is listed: a results folder inside --data is never read as a class of images.
            OutputArguments.OwnedFolder(result.GetValue(output)!, "--output", result.GetValue(data), "--data");
            var images = DataArguments.Open(result.GetValue(data)!, result.GetValue(classes), result.GetValue(perClass));
            var candidates = Candidates(result.GetValue(variants), shared.ImageSize, result.GetValue(scaling), result.GetValue(scalingFactors)!);
            ApplyWeights(candidates, result.GetValue(weights));
            var strategyValue = result.GetValue(strategy)!.Trim().ToLowerInvariant() switch
            {
                "fine-tune" or "finetune" => ComparisonStrategy.FineTune,
                "features" => ComparisonStrategy.Features,
                var other => throw new ArgumentException($"Unknown --strategy '{other}'. Valid: fine-tune, features."),
            };
            bool scratch = result.GetValue(fromScratch);
            if (scratch && strategyValue != ComparisonStrategy.FineTune)
                throw new ArgumentException("--from-scratch applies to --strategy fine-tune; the features strategy takes --random-weights.");
            bool interactive = AnsiConsole.Profile.Capabilities.Interactive;
            using var loggerFactory = LoggerFactory.Create(b => b.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; })
                .SetMinimumLevel(interactive ? LogLevel.Warning : LogLevel.Information));
            var settings = new EfficientNetComparisonSettings
            {
                Candidates = candidates,
                Strategy = strategyValue,
                Epochs = shared.Epochs,
                TimePerCandidate = Duration(result.GetValue(timePerVariant), "--time-per-variant"),
                TotalTime = Duration(result.GetValue(totalTime), "--total-time"),
                ImageSize = shared.ImageSize,
                Constraints = new ComparisonConstraints
                {
                    MaxLatencyMilliseconds = result.GetValue(maxLatency),
                    MaxParameters = Count(result.GetValue(maxParams)),
                    MaxModelMegabytes = result.GetValue(maxModelMb),
                    MinAccuracy = result.GetValue(minAccuracy),
                },
                Metric = result.GetValue(metric)!.Trim().ToLowerInvariant() switch
                {
                    "accuracy" => ComparisonMetric.Accuracy,
                    "macro-f1" or "macrof1" or "f1" => ComparisonMetric.MacroF1,
                    var other => throw new ArgumentException($"Unknown --metric '{other}'. Valid: accuracy, macro-f1."),
                },
                Seed = shared.Seed,
                HoldOutFraction = result.GetValue(holdOut),
                OutputDirectory = result.GetValue(output),
                Resume = shared.Resume,
                FromScratch = scratch,
                UseRandomWeights = result.GetValue(randomWeights),
                Threads = shared.Threads,
                Logger = loggerFactory.CreateLogger("efficientnet"),
                ConfigureTraining = (_, o) => shared.ApplyTo(o),
            };

            using var cancel = new CancellationTokenSource();
            ConsoleCancelEventHandler onCancel = (_, e) =>
            {
                e.Cancel = true; // the running candidate saves a checkpoint; running again resumes it
                cancel.Cancel();
                Console.Error.WriteLine("Stopping after this step; running the same command again resumes…");
            };
            Console.CancelKeyPress += onCancel;
            try
            {
                if (strategyValue == ComparisonStrategy.FineTune && !scratch) FetchPublishedWeights(candidates, settings.Logger);
                AnsiConsole.MarkupLine(Markup.Escape($"Comparing {candidates.Count} candidates ({string.Join(", ", candidates.Select(c => c.Name))}) on {images.Count:N0} images, " +
                    $"{images.Classes.Count} classes; strategy {(strategyValue == ComparisonStrategy.FineTune ? (scratch ? "fine-tune from scratch" : "fine-tune from published weights") : "features")}."));
                var outcome = RunWithProgress(settings, images, interactive, cancel.Token);
                OutputArguments.MarkOwned(outcome.OutputDirectory);
                var files = ComparisonReport.Write(outcome, outcome.OutputDirectory);
                PrintTable(outcome);
                // Plain output: the line is one line even when redirected, for people and for scripts that grep it.
                Console.WriteLine(ComparisonReport.RecommendedLine(outcome));
                AnsiConsole.WriteLine($"Report: {files.Html} (plots {string.Join(", ", files.Plots.Select(Path.GetFileName))}; {Path.GetFileName(files.Json)}, {Path.GetFileName(files.Csv)})");
                if (cancel.IsCancellationRequested) return ExitCodes.Cancelled;
                return outcome.Candidates.Any(c => c.Status == CandidateStatus.Succeeded) ? 0 : 2;
            }
            finally
            {
                Console.CancelKeyPress -= onCancel;
            }
        });
        return command;
    }

    private static ComparisonResult RunWithProgress(EfficientNetComparisonSettings settings, Microsoft.ML.EfficientNet.Data.LabeledImageSet images, bool interactive, CancellationToken token)
    {
        var experiment = new EfficientNetComparisonExperiment(settings);
        if (!interactive)
        {
            // Redirected output (logs, CI): one line per candidate, no progress bars.
            settings.Progress = p =>
            {
                if (p.Phase is ComparisonPhase.Finished or ComparisonPhase.Reused && p.Result is { } r)
                    Console.WriteLine(FormattableString.Invariant($"[{p.Index + 1}/{p.Count}] {r.Name}: {ComparisonReport.StatusName(r.Status)}") +
                        (r.Status == CandidateStatus.Succeeded ? FormattableString.Invariant($", accuracy {r.Accuracy:F2} % (95 % interval {ComparisonReport.IntervalText(r)}), {r.LatencyMilliseconds:F2} ms p50, trained {r.TrainSeconds:F1} s") : $" — {r.Error}") +
                        (p.Phase == ComparisonPhase.Reused ? " (reused: same settings and data)" : ""));
            };
            return experiment.Execute(images, token);
        }
        ComparisonResult? outcome = null;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                var overall = ctx.AddTask("all candidates", maxValue: settings.Candidates.Count);
                var tasks = settings.Candidates.Select(c => ctx.AddTask(Markup.Escape(c.Name), autoStart: false, maxValue: 1)).ToArray();
                settings.Progress = p =>
                {
                    var task = tasks[p.Index];
                    if (!task.IsStarted) task.StartTask();
                    task.Value = p.Fraction;
                    string name = Markup.Escape(p.Candidate);
                    switch (p.Phase)
                    {
                        case ComparisonPhase.Training:
                            task.Description = p.Remaining is { } eta ? $"{name}: training, ETA {eta:hh\\:mm\\:ss}" : $"{name}: training";
                            break;
                        case ComparisonPhase.Measuring:
                            task.Description = $"{name}: measuring";
                            break;
                        case ComparisonPhase.Finished or ComparisonPhase.Reused when p.Result is { } r:
                            task.Value = 1;
                            task.Description = r.Status == CandidateStatus.Succeeded
                                ? string.Create(CultureInfo.InvariantCulture, $"{name}: {r.Accuracy:F2} %{(p.Phase == ComparisonPhase.Reused ? " (reused)" : "")}")
                                : $"{name}: {ComparisonReport.StatusName(r.Status)}";
                            task.StopTask();
                            overall.Increment(1);
                            break;
                    }
                };
                outcome = experiment.Execute(images, token);
            });
        return outcome!;
    }

    private static void PrintTable(ComparisonResult outcome)
    {
        var c = CultureInfo.InvariantCulture;
        string N(double v, string format) => double.IsFinite(v) ? v.ToString(format, c) : "–";
        if (Console.IsOutputRedirected && AnsiConsole.Profile.Width < 170) AnsiConsole.Profile.Width = 170;
        bool top5 = ComparisonReport.HasTop5(outcome);
        var table = new Table().Border(TableBorder.Simple).AddColumns(["variant", "status", "px", "acc %", "95 % CI", "macro-F1", .. top5 ? ["top-5 %"] : Array.Empty<string>(),
            "params M", "MACs M", "ONNX MB", "p50 ms", "p95 ms", "img/s", "train s", "peak MB", "meets"]);
        foreach (var r in outcome.Candidates)
        {
            string name = Markup.Escape(r.Name) + (ReferenceEquals(r, outcome.Recommended) ? " *" : "");
            table.AddRow([name, ComparisonReport.StatusName(r.Status), r.ImageSize.ToString(c), N(r.Accuracy, "F2"), ComparisonReport.IntervalText(r), N(r.MacroF1, "F3"),
                .. top5 ? [N(r.Top5, "F2")] : Array.Empty<string>(),
                (r.Parameters / 1e6).ToString("F2", c), (r.Macs / 1e6).ToString("F1", c), r.OnnxBytes > 0 ? (r.OnnxBytes / 1e6).ToString("F2", c) : "–",
                N(r.LatencyMilliseconds, "F2"), N(r.LatencyP95Milliseconds, "F2"), N(r.Throughput, "F0"), N(r.TrainSeconds, "F1"), N(r.PeakMemoryMegabytes, "F0"),
                outcome.MeetsConstraints(r) ? "yes" : "no"]);
        }
        AnsiConsole.Write(table);
        double chance = ComparisonReport.ChanceAccuracy(outcome);
        if (double.IsFinite(chance))
            Console.WriteLine(string.Create(c, $"Chance (always the most frequent class of the {outcome.HeldOutImages:N0} held-out images): {chance:F2} %; 95 % CI: Wilson interval of the accuracy."));
        foreach (var r in outcome.Candidates.Where(r => r.Status != CandidateStatus.Succeeded))
            AnsiConsole.WriteLine($"{r.Name}: {ComparisonReport.StatusName(r.Status)} — {r.Error}");
    }

    /// <summary>
    /// Fine-tuning from published weights needs them before the first candidate trains: each is fetched through the
    /// weights resolver (cache, then download) now, so a missing file stops the command at once with the address, the
    /// path to put it at and the way to do without.
    /// </summary>
    private static void FetchPublishedWeights(IReadOnlyList<ComparisonCandidate> candidates, ILogger? logger)
    {
        var unpublished = candidates.Where(c => c.WeightsPath is null && PretrainedWeights.Find(WeightFormat.TorchVision, c.Variant) is null).Select(c => c.Name).ToList();
        if (unpublished.Count > 0)
            throw new ArgumentException($"No weights are published for {string.Join(", ", unpublished)} to fine-tune from; add --from-scratch to train every candidate " +
                $"from scratch, or give --weights {unpublished[0]}=FILE.");
        foreach (var candidate in candidates.Where(c => c.WeightsPath is null))
        {
            try
            {
                WeightsResolver.FetchPublished(PretrainedWeights.Default(candidate.Variant), new WeightsRequest(candidate.Variant) { Logger = logger });
            }
            catch (FileNotFoundException e)
            {
                throw new FileNotFoundException(e.Message + " Or add --from-scratch to train every candidate from scratch (on small data expect accuracy near chance).", e.FileName, e);
            }
        }
    }

    /// <summary>The candidates: the listed variants, then the scaling study's (B0 and the scaled variants), without duplicates.</summary>
    private static List<ComparisonCandidate> Candidates(string? variants, int? imageSize, string? scaling, string factors)
    {
        var list = new List<ComparisonCandidate>();
        bool study = !string.IsNullOrWhiteSpace(scaling);
        var names = string.IsNullOrWhiteSpace(variants) ? (study ? [] : ["b0"]) : variants.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (string name in names) list.Add(new ComparisonCandidate(ParseVariant(name)));
        if (study)
        {
            var f = factors.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(x => double.Parse(x.TrimEnd('x', 'X'), CultureInfo.InvariantCulture));
            var scaled = ScalingStudy.Candidates(scaling!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), f, imageSize ?? CompoundScaling.BaselineResolution);
            // The study's B0 (at the study's size) replaces a listed b0.
            list.RemoveAll(c => scaled.Any(s => s.Name.Equals(c.Name, StringComparison.OrdinalIgnoreCase)));
            list.AddRange(scaled);
        }
        var duplicate = list.GroupBy(c => c.Name, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new ArgumentException($"--variants lists '{duplicate.Key}' twice.");
        return list;
    }

    /// <summary>b0 … b7, v2-s/m/l, lite0 … lite4, phi-X (compound coefficient) or wA-dB-rC (custom multipliers and resolution).</summary>
    internal static EfficientNetVariant ParseVariant(string text)
    {
        if (EfficientNetVariant.TryParse(text, out var published)) return published;
        var c = CultureInfo.InvariantCulture;
        string key = text.Trim().ToLowerInvariant();
        if (PhiPattern().Match(key) is { Success: true } phi) return EfficientNetVariant.FromPhi(double.Parse(phi.Groups[1].Value, c));
        if (CustomPattern().Match(key) is { Success: true } m)
            return EfficientNetVariant.Custom(double.Parse(m.Groups[1].Value, c), double.Parse(m.Groups[2].Value, c), int.Parse(m.Groups[3].Value, c));
        throw new ArgumentException($"Unknown variant '{text}'. Valid: {string.Join(", ", EfficientNetVariant.Named.Select(v => v.Name))}, phi-X (for example phi-1.5) or wA-dB-rC (for example w0.5-d0.5-r64).");
    }

    private static void ApplyWeights(List<ComparisonCandidate> candidates, string? weights)
    {
        if (string.IsNullOrWhiteSpace(weights)) return;
        if (!weights.Contains('=', StringComparison.Ordinal))
        {
            for (int i = 0; i < candidates.Count; i++) candidates[i] = candidates[i] with { WeightsPath = weights };
            return;
        }
        foreach (string pair in weights.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = pair.Split('=', 2);
            int index = candidates.FindIndex(c => c.Name.Equals(parts[0], StringComparison.OrdinalIgnoreCase));
            if (parts.Length != 2 || index < 0) throw new ArgumentException($"--weights '{pair}' names no candidate (give NAME=FILE for one of {string.Join(", ", candidates.Select(c => c.Name))}).");
            candidates[index] = candidates[index] with { WeightsPath = parts[1] };
        }
    }

    /// <summary>90s, 5m, 1h30m, 2h, or a .NET time span (00:05:00).</summary>
    internal static TimeSpan? Duration(string? text, string option)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        var m = DurationPattern().Match(text.Trim().ToLowerInvariant());
        if (m.Success && m.Value.Length > 0)
        {
            double P(int g) => m.Groups[g].Success ? double.Parse(m.Groups[g].Value, CultureInfo.InvariantCulture) : 0;
            var span = TimeSpan.FromHours(P(1)) + TimeSpan.FromMinutes(P(2)) + TimeSpan.FromSeconds(P(3));
            if (span > TimeSpan.Zero) return span;
        }
        if (TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var parsed) && parsed > TimeSpan.Zero) return parsed;
        throw new ArgumentException($"{option} '{text}' is not a duration; write for example 90s, 5m or 1h30m.");
    }

    /// <summary>5000000, 5e6, 5M, 500k.</summary>
    internal static long? Count(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        string t = text.Trim();
        double scale = char.ToLowerInvariant(t[^1]) switch { 'k' => 1e3, 'm' => 1e6, 'g' or 'b' => 1e9, _ => 1 };
        if (scale != 1) t = t[..^1];
        return double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) && value > 0
            ? (long)Math.Round(value * scale)
            : throw new ArgumentException($"--max-params '{text}' is not a count; write for example 5000000, 5e6 or 5M.");
    }

    [GeneratedRegex(@"^phi-?([0-9]*\.?[0-9]+)$")]
    private static partial Regex PhiPattern();

    [GeneratedRegex(@"^w([0-9]*\.?[0-9]+)-d([0-9]*\.?[0-9]+)-r([0-9]+)$")]
    private static partial Regex CustomPattern();

    [GeneratedRegex(@"^(?:([0-9]*\.?[0-9]+)h)?(?:([0-9]*\.?[0-9]+)m)?(?:([0-9]*\.?[0-9]+)s)?$")]
    private static partial Regex DurationPattern();
}
