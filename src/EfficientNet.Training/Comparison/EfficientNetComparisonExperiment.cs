using Microsoft.ML.EfficientNet.IO;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.ML.EfficientNet.Data;
using EfficientNet.Training.Training;
using Microsoft.Extensions.Logging;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.EfficientNet;
using Microsoft.ML.EfficientNet.Evaluation;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Onnx;
using Microsoft.ML.EfficientNet.Scoring;
using Microsoft.ML.EfficientNet.Weights;
using Microsoft.ML.Trainers;

namespace EfficientNet.Training.Comparison;

/// <summary>
/// Trains every candidate of <see cref="EfficientNetComparisonSettings"/> on the same training split, measures each on
/// the same held-out split (accuracy, macro-F1, top-5, parameters, MACs, ONNX size, batch-1 latency, throughput,
/// training time, peak memory) and recommends the most accurate one that meets the constraints. One candidate's failure
/// (out of memory, missing weights, time limit before its first epoch) is recorded and the others go on. Created by
/// <c>mlContext.MulticlassClassification.CreateEfficientNetComparison(settings)</c>, like ML.NET's AutoML experiments.
/// </summary>
public sealed class EfficientNetComparisonExperiment
{
    private const string CandidateFile = "result.json";

    /// <summary>Creates the experiment; nothing runs until <see cref="Execute(LabeledImageSet, CancellationToken)"/>.</summary>
    /// <param name="settings">Candidates, strategy, budget, constraints, metric, seed and output folder.</param>
    public EfficientNetComparisonExperiment(EfficientNetComparisonSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        Settings = settings;
    }

    /// <summary>The settings the experiment runs with.</summary>
    public EfficientNetComparisonSettings Settings { get; }

    /// <summary>Splits <paramref name="data"/> (seeded, stratified, <see cref="EfficientNetComparisonSettings.HoldOutFraction"/>) and runs the comparison.</summary>
    /// <param name="data">Labelled images.</param>
    /// <param name="cancellationToken">Stops the running candidate at its next step (its checkpoint resumes it) and skips the rest.</param>
    public ComparisonResult Execute(LabeledImageSet data, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (!(Settings.HoldOutFraction > 0 && Settings.HoldOutFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(Settings.HoldOutFraction), Settings.HoldOutFraction, "The held-out share must be in (0, 1).");
        var (train, heldOut) = data.Split(Settings.HoldOutFraction, Settings.Seed);
        return Execute(train, heldOut, cancellationToken);
    }

    /// <summary>Runs the comparison on a given training and held-out set.</summary>
    /// <param name="train">Images every candidate learns from.</param>
    /// <param name="heldOut">Images every candidate is measured on (same classes, in the same order).</param>
    /// <param name="cancellationToken">Stops the running candidate at its next step and skips the rest.</param>
    public ComparisonResult Execute(LabeledImageSet train, LabeledImageSet heldOut, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(heldOut);
        var s = Settings;
        if (s.Candidates.Count == 0) throw new ArgumentException("Give at least one candidate.", nameof(Settings.Candidates));
        var duplicate = s.Candidates.GroupBy(c => c.Name, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new ArgumentException($"Two candidates are named '{duplicate.Key}'; names must differ (they name the result folders).", nameof(Settings.Candidates));
        if (s.Epochs < 1) throw new ArgumentOutOfRangeException(nameof(Settings.Epochs), s.Epochs, "Train for at least one epoch.");
        if (s.TimePerCandidate is { } t && t <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(Settings.TimePerCandidate), t, "Must be positive.");
        if (s.TotalTime is { } total && total <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(Settings.TotalTime), total, "Must be positive.");
        if (s.LatencyRuns < 1 || s.LatencyWarmupRuns < 0 || s.ThroughputImages < 1) throw new ArgumentOutOfRangeException(nameof(Settings.LatencyRuns), "Latency needs at least one timed run and throughput one image.");
        if (!train.Classes.SequenceEqual(heldOut.Classes))
            throw new ArgumentException($"Held-out classes [{string.Join(", ", heldOut.Classes)}] differ from training classes [{string.Join(", ", train.Classes)}].", nameof(heldOut));
        if (heldOut.Count == 0) throw new ArgumentException("The held-out set is empty; use more images or a larger HoldOutFraction.", nameof(heldOut));
        if (train.Classes.Count < 2) throw new ArgumentException("A comparison needs at least two classes.", nameof(train));

        string output = Path.GetFullPath(s.OutputDirectory ?? Path.Combine(Path.GetTempPath(), "efficientnet-compare-" + DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)));
        Directory.CreateDirectory(output);
        var clock = Stopwatch.StartNew();
        var results = new List<CandidateResult>();
        for (int i = 0; i < s.Candidates.Count; i++)
        {
            var candidate = s.Candidates[i];
            int size = candidate.ImageSize ?? s.ImageSize ?? candidate.Variant.Resolution;
            var spec = EfficientNetSpec.Create(candidate.Variant, train.Classes.Count);
            var blank = new CandidateResult
            {
                Name = candidate.Name,
                Variant = candidate.Variant,
                Strategy = s.Strategy,
                Status = CandidateStatus.Skipped,
                ImageSize = size,
                Classes = train.Classes.Count,
                Parameters = spec.ParameterCount,
                Macs = spec.MultiplyAccumulates(size, size),
                ScalingDimension = candidate.ScalingDimension,
                ScalingFactor = candidate.ScalingFactor,
                FinishedUtc = DateTime.UtcNow,
            };
            string folder = Path.Combine(output, FolderName(candidate.Name));
            string fingerprint = Fingerprint(candidate, size, train, heldOut);
            if (cancellationToken.IsCancellationRequested)
            {
                Finish(blank with { Error = "The comparison was cancelled before this candidate started." });
                continue;
            }
            if (s.Resume && TryReadSaved(folder, fingerprint) is { } saved)
            {
                s.Logger?.LogInformation("{Candidate}: reusing the result saved {When:u} (same settings and data)", candidate.Name, saved.FinishedUtc);
                var reused = saved with { Reused = true, ScalingDimension = candidate.ScalingDimension, ScalingFactor = candidate.ScalingFactor };
                results.Add(reused);
                s.Progress?.Invoke(new ComparisonProgress(i, s.Candidates.Count, candidate.Name, ComparisonPhase.Reused, 1, TimeSpan.Zero, reused));
                continue;
            }
            TimeSpan? limit = s.TimePerCandidate;
            if (s.TotalTime is { } budget)
            {
                var left = budget - clock.Elapsed;
                if (left <= TimeSpan.Zero)
                {
                    Finish(blank with { Error = $"The total time budget of {Format(budget)} was spent before this candidate started." });
                    continue;
                }
                limit = limit is { } perCandidate && perCandidate < left ? perCandidate : left;
            }

            s.Progress?.Invoke(new ComparisonProgress(i, s.Candidates.Count, candidate.Name, ComparisonPhase.Starting, 0, null, null));
            s.Logger?.LogInformation("{Candidate}: {Strategy} at {Size} px, {Parameters:N0} parameters, {Macs:N0} MACs", candidate.Name, ComparisonReport.StrategyName(s.Strategy), size, blank.Parameters, blank.Macs);
            PrepareFolder(folder, fingerprint);
            CandidateResult result;
            var memory = PeakMemory.Start();
            try
            {
                result = s.Strategy == ComparisonStrategy.FineTune
                    ? FineTune(candidate, blank, folder, train, heldOut, limit, i, cancellationToken)
                    : Features(candidate, blank, folder, train, heldOut, i);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                result = blank with { Status = CandidateStatus.Cancelled, Error = "Cancelled; running the comparison again resumes this candidate." };
            }
#pragma warning disable CA1031 // one candidate's failure, whatever it is (out of memory included), must not end the comparison
            catch (Exception e)
#pragma warning restore CA1031
            {
                s.Logger?.LogError("{Candidate} failed: {Error}", candidate.Name, e.Message);
                result = blank with { Status = CandidateStatus.Failed, Error = $"{e.GetType().Name}: {e.Message}" };
            }
            result = result with { PeakMemoryMegabytes = memory.Stop(), FinishedUtc = DateTime.UtcNow };
            if (result.Status == CandidateStatus.Succeeded) Save(folder, fingerprint, result);
            Finish(result);

            void Finish(CandidateResult r)
            {
                results.Add(r);
                s.Progress?.Invoke(new ComparisonProgress(i, s.Candidates.Count, r.Name, ComparisonPhase.Finished, 1, TimeSpan.Zero, r));
            }
        }
        return ComparisonRecommendation.Build(results, s.Constraints, s.Metric, train, heldOut, output, ChanceCause(train.Count));
    }

    /// <summary>Why candidates trained with these settings would stay at chance, for the recommendation's sentence.</summary>
    private string ChanceCause(int trainImages)
    {
        var s = Settings;
        string images = string.Create(CultureInfo.InvariantCulture, $"{trainImages:N0} training images");
        if (s.Strategy == ComparisonStrategy.Features)
            return s.UseRandomWeights ? "features of random weights do not tell these classes apart" : $"the pretrained features do not tell these classes apart on {images}";
        string epochs = string.Create(CultureInfo.InvariantCulture, $"{s.Epochs} epoch{(s.Epochs == 1 ? "" : "s")}");
        return s.FromScratch
            ? $"trained from scratch on {images} for {epochs}, too little to learn these classes without pretrained weights"
            : $"{epochs} on {images} were too few, or the learning rate too high";
    }

    private CandidateResult FineTune(ComparisonCandidate candidate, CandidateResult blank, string folder, LabeledImageSet train, LabeledImageSet heldOut,
        TimeSpan? limit, int index, CancellationToken cancellationToken)
    {
        var s = Settings;
        var options = TrainingOptions(candidate, blank.ImageSize, folder);
        var clock = Stopwatch.StartNew();
        var userProgress = options.Progress;
        options.Progress = e =>
        {
            userProgress?.Invoke(e);
            if (e is not StepCompleted step || s.Progress is null) return;
            double fraction = step.GlobalStep / (double)Math.Max(1, (long)options.Epochs * step.StepsPerEpoch);
            TimeSpan remaining = step.Eta;
            if (limit is { } l)
            {
                fraction = Math.Max(fraction, clock.Elapsed / l);
                if (l - clock.Elapsed < remaining) remaining = l - clock.Elapsed;
            }
            s.Progress(new ComparisonProgress(index, s.Candidates.Count, candidate.Name, ComparisonPhase.Training, Math.Clamp(fraction, 0, 1),
                remaining < TimeSpan.Zero ? TimeSpan.Zero : remaining, null));
        };

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (limit is { } timeLimit) stop.CancelAfter(timeLimit);
        bool pretrained = IsPretrained(options);
        if (pretrained && PretrainedWeights.Find(WeightFormat.TorchVision, candidate.Variant) is null)
            throw new InvalidOperationException($"No weights are published for '{candidate.Name}' to fine-tune from; set FromScratch to train every candidate " +
                "from scratch, or give this candidate a WeightsPath.");
        TrainingResult trained;
        try
        {
            trained = EfficientNetTrainer.Train(options, train, validation: null, stop.Token);
        }
        catch (FileNotFoundException e) when (pretrained)
        {
            // The resolver names the address and the path to put the file at; the other way out is the comparison's.
            throw new FileNotFoundException(e.Message + " Or set FromScratch to train every candidate from scratch.", e.FileName, e);
        }
        double seconds = clock.Elapsed.TotalSeconds;
        if (cancellationToken.IsCancellationRequested)
            return blank with { Status = CandidateStatus.Cancelled, Error = trained.Message, TrainSeconds = seconds, Epochs = trained.History.Count };
        if (trained.OnnxPath is null)
        {
            string reason = trained.Status == TrainingStatus.Cancelled && limit is { } l
                ? $"The time limit of {Format(l)} ended before the first epoch finished; give it more time or use fewer images."
                : trained.Message;
            return blank with { Status = CandidateStatus.Failed, Error = reason, TrainSeconds = seconds };
        }
        s.Progress?.Invoke(new ComparisonProgress(index, s.Candidates.Count, candidate.Name, ComparisonPhase.Measuring, 1, null, null));
        return Measure(blank, trained.OnnxPath, heldOut) with
        {
            TrainSeconds = seconds,
            Epochs = trained.History.Count,
            TimeLimited = trained.Status == TrainingStatus.Cancelled,
        };
    }

    /// <summary>The trainer's name for a variant's published weights (<see cref="EfficientNetTrainingOptions.InitialWeights"/>).</summary>
    private const string Pretrained = "pretrained";

    private static bool IsPretrained(EfficientNetTrainingOptions options) => string.Equals(options.InitialWeights, Pretrained, StringComparison.OrdinalIgnoreCase);

    /// <summary>A fine-tune candidate's training options: what the comparison sets, then the caller's adjustments.</summary>
    private EfficientNetTrainingOptions TrainingOptions(ComparisonCandidate candidate, int size, string folder)
    {
        var s = Settings;
        var options = new EfficientNetTrainingOptions
        {
            Variant = candidate.Variant,
            ImageSize = size,
            Epochs = s.Epochs,
            Seed = s.Seed,
            // The held-out split measures the candidates, so it never chooses an epoch: the last finished epoch is exported.
            ValidationFraction = 0,
            // Set either way: the trainer's own default is not what a comparison means by default.
            InitialWeights = candidate.WeightsPath ?? (s.FromScratch ? null : Pretrained),
            CacheDirectory = s.CacheDirectory,
            OutputDirectory = Path.Combine(folder, "run"),
            Resume = s.Resume,
            Threads = s.Threads,
            Logger = s.Logger,
        };
        s.ConfigureTraining?.Invoke(candidate, options);
        return options;
    }

    private CandidateResult Features(ComparisonCandidate candidate, CandidateResult blank, string folder, LabeledImageSet train, LabeledImageSet heldOut, int index)
    {
        var s = Settings;
        var clock = Stopwatch.StartNew();
        var weights = WeightsResolver.Resolve(new WeightsRequest(candidate.Variant)
        {
            File = candidate.WeightsPath,
            FileDescription = $"Weights of {candidate.Name}",
            CacheDirectory = s.CacheDirectory,
            AllowDownload = s.AllowDownload,
            UseRandomWeights = s.UseRandomWeights && candidate.WeightsPath is null,
            RandomSeed = s.Seed,
            ReplaceHead = true,
            Logger = s.Logger,
        });
        // The featurizer reads the same backbone as the final model, so the classifier learns on exactly the features
        // the exported network computes.
        string backbone = Path.Combine(folder, "backbone.onnx");
        EfficientNetOnnxExporter.Export(weights, backbone, new OnnxExportOptions { Outputs = OnnxOutputs.Features, Resolution = blank.ImageSize });
        var ml = new MLContext(s.Seed);
        var (features, labels, width) = Featurize(ml, candidate.Variant, backbone, train, s.Logger);
        s.Progress?.Invoke(new ComparisonProgress(index, s.Candidates.Count, candidate.Name, ComparisonPhase.Training, 0.8, null, null));

        int classes = train.Classes.Count;
        var schema = SchemaDefinition.Create(typeof(FeatureRow));
        schema[nameof(FeatureRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, width);
        schema[nameof(FeatureRow.Label)].ColumnType = new KeyDataViewType(typeof(uint), classes);
        // LoadFromEnumerable takes a key column's values zero-based (it stores index + 1, 0 being "missing"): class c is c.
        var rows = features.Select((f, i) => new FeatureRow { Features = f, Label = (uint)labels[i] });
        var data = ml.Data.LoadFromEnumerable(rows, schema);
        MaximumEntropyModelParameters head = s.FeatureClassifier == FeatureClassifier.SdcaMaximumEntropy
            ? ml.MulticlassClassification.Trainers.SdcaMaximumEntropy(nameof(FeatureRow.Label), nameof(FeatureRow.Features)).Fit(data).Model
            : ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy(nameof(FeatureRow.Label), nameof(FeatureRow.Features)).Fit(data).Model;
        VBuffer<float>[] rowsOfWeights = [];
        head.GetWeights(ref rowsOfWeights, out int numClasses);
        if (numClasses != classes) throw new InvalidOperationException($"The classifier has {numClasses} classes, the data {classes}.");
        var w = new float[classes * width];
        for (int c = 0; c < classes; c++) rowsOfWeights[c].DenseValues().ToArray().CopyTo(w, c * width);
        var b = head.GetBiases().ToArray();
        double seconds = clock.Elapsed.TotalSeconds;

        // The linear classifier becomes the network's own head: softmax(W·f + b) ranks classes as ML.NET's model does.
        var spec = EfficientNetSpec.Create(candidate.Variant, classes);
        var entries = weights.Weights.Entries.Where(e => !e.Key.StartsWith(spec.Classifier.Name + ".", StringComparison.Ordinal)).ToList();
        entries.Add(new(spec.Classifier.Name + ".weight", new WeightTensor([classes, width], w)));
        entries.Add(new(spec.Classifier.Name + ".bias", new WeightTensor([classes], b)));
        var whole = EfficientNetCheckpoint.FromCanonical(spec, new StateDict(entries, $"{weights.Origin} + {s.FeatureClassifier}"), weights.Source);
        string model = Path.Combine(folder, "model.onnx");
        EfficientNetOnnxExporter.Export(whole, model, new OnnxExportOptions { Outputs = OnnxOutputs.LogitsAndFeatures, Resolution = blank.ImageSize, Labels = train.Classes });
        File.Delete(backbone);
        s.Progress?.Invoke(new ComparisonProgress(index, s.Candidates.Count, candidate.Name, ComparisonPhase.Measuring, 1, null, null));
        return Measure(blank, model, heldOut) with { TrainSeconds = seconds };
    }

    private static (List<float[]> Features, List<int> Labels, int Width) Featurize(MLContext ml, EfficientNetVariant variant, string onnx, LabeledImageSet images, ILogger? logger)
    {
        var view = new ImageSetDataView(images, logger);
        using var featurizer = new EfficientNetFeaturizerEstimator(ml.Transforms, variant, EfficientNetCatalog.DefaultOutputColumnName, ImageSetDataView.ImageColumn,
            new EfficientNetFeaturizerOptions { WeightsPath = onnx, Logger = logger }).Fit(view);
        var output = featurizer.Transform(view);
        var featuresColumn = output.Schema[featurizer.OutputColumnName];
        var indexColumn = output.Schema[ImageSetDataView.IndexColumn];
        using var cursor = output.GetRowCursor([featuresColumn, indexColumn]);
        var getFeatures = cursor.GetGetter<VBuffer<float>>(featuresColumn);
        var getIndex = cursor.GetGetter<int>(indexColumn);
        VBuffer<float> buffer = default;
        int index = 0;
        var features = new List<float[]>();
        var labels = new List<int>();
        while (cursor.MoveNext())
        {
            getFeatures(ref buffer);
            getIndex(ref index);
            var values = buffer.DenseValues().ToArray();
            if (float.IsNaN(values[0])) continue; // unreadable image, already logged by the featurizer
            features.Add(values);
            labels.Add(images.Label(index));
        }
        if (features.Count == 0) throw new InvalidDataException("No training image could be featurized.");
        return (features, labels, featurizer.Metadata.FeatureWidth);
    }

    /// <summary>Held-out metrics of the exported model, its size, and its latency and throughput on this machine.</summary>
    private CandidateResult Measure(CandidateResult blank, string model, LabeledImageSet heldOut)
    {
        var s = Settings;
        var metrics = OnnxModelEvaluation.Evaluate(model, heldOut, OnnxModelEvaluation.DefaultBatchSize, s.Logger).Metrics;
        var (p50, p95, throughput) = CandidateMeasurements.Speed(blank.Variant, model, heldOut, s.LatencyWarmupRuns, s.LatencyRuns, s.ThroughputImages, s.Logger);
        return blank with
        {
            Status = CandidateStatus.Succeeded,
            Accuracy = metrics.Accuracy * 100,
            MacroF1 = CandidateMeasurements.MacroF1(metrics.Confusion),
            // With five classes or fewer every answer is in the top five: the number says nothing.
            Top5 = metrics.Classes > 5 ? metrics.Top5Accuracy * 100 : double.NaN,
            Confusion = metrics.Confusion,
            OnnxBytes = new FileInfo(model).Length,
            LatencyMilliseconds = p50,
            LatencyP95Milliseconds = p95,
            Throughput = throughput,
            ModelPath = model,
        };
    }

    /// <summary>Everything that changes a candidate's numbers; a saved result with another fingerprint is not reused.</summary>
    private string Fingerprint(ComparisonCandidate candidate, int size, LabeledImageSet train, LabeledImageSet heldOut)
    {
        var s = Settings;
        var probe = TrainingOptions(candidate, size, "");
        return JsonSerializer.Serialize(new
        {
            variant = new { candidate.Variant.Name, candidate.Variant.WidthMultiplier, candidate.Variant.DepthMultiplier, candidate.Variant.Resolution, candidate.Variant.Dropout },
            strategy = s.Strategy.ToString(),
            size,
            weights = candidate.WeightsPath is { } w ? Path.GetFullPath(w) : null,
            initialWeights = s.Strategy != ComparisonStrategy.FineTune ? null
                : probe.InitialWeights is { } iw && !IsPretrained(probe) ? Path.GetFullPath(iw) : probe.InitialWeights,
            epochs = s.Strategy == ComparisonStrategy.FineTune ? s.Epochs : 0,
            timePerCandidate = s.TimePerCandidate?.TotalSeconds,
            totalTime = s.TotalTime?.TotalSeconds,
            s.Seed,
            random = s.UseRandomWeights,
            classifier = s.FeatureClassifier.ToString(),
            training = s.Strategy == ComparisonStrategy.FineTune
                ? new { probe.BatchSize, probe.LearningRate, probe.Optimizer, probe.Schedule, probe.WarmupFraction, probe.WeightDecay, probe.LabelSmoothing,
                    probe.Augmentation, probe.ShiftPixels, Recipe = probe.Recipe?.ToString(), probe.Mode, probe.EmaDecay }
                : null,
            classes = train.Classes,
            train = DataFingerprint(train),
            heldOut = DataFingerprint(heldOut),
        });
    }

    private static string DataFingerprint(LabeledImageSet images)
    {
        // Counts per class and where the first and last images come from: cheap, and different whenever the split is.
        var perClass = new int[images.Classes.Count];
        for (int i = 0; i < images.Count; i++) perClass[images.Label(i)]++;
        return string.Join(",", perClass) + (images.Count > 0 ? $"|{images.Describe(0)}|{images.Describe(images.Count - 1)}" : "");
    }

    private static void PrepareFolder(string folder, string fingerprint)
    {
        // A run folder trained with other settings must not be resumed into this candidate.
        string settings = Path.Combine(folder, "settings.json");
        if (File.Exists(settings) && File.ReadAllText(settings) != fingerprint && Directory.Exists(Path.Combine(folder, "run")))
            Directory.Delete(Path.Combine(folder, "run"), recursive: true);
        Directory.CreateDirectory(folder);
        AtomicFile.Write(settings, stream => stream.Write(System.Text.Encoding.UTF8.GetBytes(fingerprint)));
    }

    private static CandidateResult? TryReadSaved(string folder, string fingerprint)
    {
        string path = Path.Combine(folder, CandidateFile);
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

    private static void Save(string folder, string fingerprint, CandidateResult result) =>
        AtomicFile.Write(Path.Combine(folder, CandidateFile), stream =>
        {
            using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
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

    /// <summary>A file-system-safe folder name for a candidate.</summary>
    internal static string FolderName(string name)
    {
        var invalid = Path.GetInvalidFileNameChars();
        string safe = new(name.Select(ch => invalid.Contains(ch) || ch == ' ' ? '_' : ch).ToArray());
        return safe is "." or ".." or "" ? "_" + safe : safe;
    }

    internal static string Format(TimeSpan t) =>
        t.TotalHours >= 1 ? t.ToString(@"h\hmm\m", CultureInfo.InvariantCulture)
        : t.TotalMinutes >= 1 ? t.ToString(@"m\mss\s", CultureInfo.InvariantCulture)
        : string.Create(CultureInfo.InvariantCulture, $"{t.TotalSeconds:0.#}s");

    private sealed class FeatureRow
    {
        public float[] Features { get; set; } = [];

        public uint Label { get; set; }
    }
}
