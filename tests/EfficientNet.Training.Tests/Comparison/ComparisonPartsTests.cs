using EfficientNet.Training.Comparison;
using EfficientNet.Training.Training;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Data;

namespace EfficientNet.Training.Tests.Comparison;

/// <summary>
/// The comparison's parts without training: the result cache's fingerprint and saved results, the budget, and the
/// experiment's loop driven by a strategy that only records what it is handed and advances a clock.
/// </summary>
[TestClass]
public sealed class ComparisonPartsTests
{
    private static readonly EfficientNetVariant Tiny = EfficientNetVariant.Custom(0.25, 0.25, 32, name: "tiny");
    private static readonly Lazy<(LabeledImageSet Train, LabeledImageSet HeldOut)> Split = new(() => new FashionMnistImageSet(true, [1, 8, 0]).TakePerClass(20).Split(0.2, 3));

    private static EfficientNetComparisonSettings Settings(ComparisonStrategy strategy, params ComparisonCandidate[] candidates)
    {
        var settings = new EfficientNetComparisonSettings { Strategy = strategy, Epochs = 2, Seed = 3, ConfigureTraining = (_, o) => o.LearningRate = 3e-3 };
        foreach (var c in candidates) settings.Candidates.Add(c);
        return settings;
    }

    private static string Fingerprint(EfficientNetComparisonSettings settings, LabeledImageSet? train = null, int size = 32)
    {
        var monitor = new ComparisonMonitor(null, null, settings.Candidates.Count);
        ICandidateStrategy strategy = settings.Strategy == ComparisonStrategy.FineTune ? new FineTuneStrategy(settings, monitor) : new FeaturesStrategy(settings, monitor);
        return new ComparisonResultCache(Path.GetTempPath(), settings, strategy).Fingerprint(settings.Candidates[0], size, train ?? Split.Value.Train, Split.Value.HeldOut);
    }

    [TestMethod]
    public void TheFingerprintChangesWithEverySettingThatChangesTheNumbersAndOnlyThen()
    {
        var fineTune = Settings(ComparisonStrategy.FineTune, Tiny);
        string baseline = Fingerprint(fineTune);
        Assert.AreEqual(baseline, Fingerprint(Settings(ComparisonStrategy.FineTune, Tiny)), "same settings and data: same fingerprint");

        var changed = new Dictionary<string, string>
        {
            ["seed"] = Fingerprint(Set(Settings(ComparisonStrategy.FineTune, Tiny), s => s.Seed = 4)),
            ["epochs"] = Fingerprint(Set(Settings(ComparisonStrategy.FineTune, Tiny), s => s.Epochs = 3)),
            ["from scratch"] = Fingerprint(Set(Settings(ComparisonStrategy.FineTune, Tiny), s => s.FromScratch = true)),
            ["learning rate"] = Fingerprint(Set(Settings(ComparisonStrategy.FineTune, Tiny), s => s.ConfigureTraining = (_, o) => o.LearningRate = 1e-3)),
            ["time per candidate"] = Fingerprint(Set(Settings(ComparisonStrategy.FineTune, Tiny), s => s.TimePerCandidate = TimeSpan.FromMinutes(1))),
            ["strategy"] = Fingerprint(Settings(ComparisonStrategy.Features, Tiny)),
            ["image size"] = Fingerprint(fineTune, size: 64),
            ["training data"] = Fingerprint(fineTune, train: Split.Value.Train.Subset(Enumerable.Range(1, Split.Value.Train.Count - 1).ToArray())),
            ["variant"] = Fingerprint(Settings(ComparisonStrategy.FineTune, EfficientNetVariant.Custom(0.25, 0.5, 32, name: "tiny"))),
        };
        foreach (var (setting, fingerprint) in changed) Assert.AreNotEqual(baseline, fingerprint, $"{setting} changes the numbers, so the fingerprint");
        Assert.AreEqual(changed.Count, changed.Values.Distinct().Count(), "each change gives its own fingerprint");

        // The features strategy trains no network: its fingerprint ignores epochs and training options, not the classifier.
        string features = Fingerprint(Settings(ComparisonStrategy.Features, Tiny));
        Assert.AreEqual(features, Fingerprint(Set(Settings(ComparisonStrategy.Features, Tiny), s => { s.Epochs = 9; s.ConfigureTraining = (_, o) => o.LearningRate = 1; })));
        Assert.AreNotEqual(features, Fingerprint(Set(Settings(ComparisonStrategy.Features, Tiny), s => s.FeatureClassifier = FeatureClassifier.SdcaMaximumEntropy)));
    }

    private static EfficientNetComparisonSettings Set(EfficientNetComparisonSettings settings, Action<EfficientNetComparisonSettings> change)
    {
        change(settings);
        return settings;
    }

    private static CandidateResult Succeeded(string name, string model, double accuracy) => new()
    {
        Name = name,
        Variant = Tiny,
        Strategy = ComparisonStrategy.FineTune,
        Status = CandidateStatus.Succeeded,
        ImageSize = 32,
        Classes = 3,
        Accuracy = accuracy,
        Confusion = new long[,] { { 4, 0, 0 }, { 1, 3, 0 }, { 0, 0, 4 } },
        Parameters = 1000,
        Macs = 2000,
        OnnxBytes = 10,
        LatencyMilliseconds = 1,
        ModelPath = model,
        FinishedUtc = new DateTime(2025, 1, 2, 3, 4, 5, DateTimeKind.Utc),
    };

    [TestMethod]
    public void ASavedResultIsReusedOnlyUnderItsFingerprintAndWhileItsModelExists()
    {
        using var dir = new TemporaryDirectory();
        string folder = Path.Combine(dir.Path, "tiny"), model = Path.Combine(dir.Path, "model.onnx");
        File.WriteAllBytes(model, [1]);
        ComparisonResultCache.Prepare(folder, "first");
        ComparisonResultCache.Save(folder, "first", Succeeded("tiny", model, 91.67));

        var saved = ComparisonResultCache.TryRead(folder, "first");
        Assert.IsNotNull(saved);
        Assert.AreEqual(91.67, saved.Accuracy);
        Assert.AreEqual(new DateTime(2025, 1, 2, 3, 4, 5, DateTimeKind.Utc), saved.FinishedUtc);
        CollectionAssert.AreEqual(new long[,] { { 4, 0, 0 }, { 1, 3, 0 }, { 0, 0, 4 } }, saved.Confusion);
        Assert.IsNull(ComparisonResultCache.TryRead(folder, "second"), "other settings: measured again");

        // A training run left by the same settings is resumed; one left by other settings is removed.
        string run = ComparisonResultCache.RunFolderOf(folder);
        Directory.CreateDirectory(run);
        ComparisonResultCache.Prepare(folder, "first");
        Assert.IsTrue(Directory.Exists(run));
        ComparisonResultCache.Prepare(folder, "second");
        Assert.IsFalse(Directory.Exists(run));
        Assert.AreEqual("second", File.ReadAllText(Path.Combine(folder, "settings.json")));

        File.Delete(model);
        Assert.IsNull(ComparisonResultCache.TryRead(folder, "first"), "the model is gone: measured again");
        File.WriteAllText(Path.Combine(folder, "result.json"), "{ not json");
        Assert.IsNull(ComparisonResultCache.TryRead(folder, "first"), "unreadable: measured again");
        Assert.AreEqual("a_b", ComparisonResultCache.FolderName("a b"));
        Assert.AreEqual("_..", ComparisonResultCache.FolderName(".."));
    }

    [TestMethod]
    public void TheBudgetGivesTheSmallerLimitAndRefusesOnceTheTotalIsSpent()
    {
        var elapsed = TimeSpan.Zero;
        var budget = new ComparisonBudget(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(100), CancellationToken.None, () => elapsed);
        Assert.IsTrue(budget.TryAllot(out var limit, out _));
        Assert.AreEqual(TimeSpan.FromSeconds(30), limit, "the per-candidate limit while more of the total is left");
        elapsed = TimeSpan.FromSeconds(80);
        Assert.IsTrue(budget.TryAllot(out limit, out _));
        Assert.AreEqual(TimeSpan.FromSeconds(20), limit, "what is left of the total");
        elapsed = TimeSpan.FromSeconds(100);
        Assert.IsFalse(budget.TryAllot(out limit, out string? refusal));
        Assert.IsNull(limit);
        Assert.AreEqual("The total time budget of 1m40s was spent before this candidate started.", refusal);
        Assert.IsNull(budget.Cancelled);

        // The total counts the candidates' time: its clock starts when the first one asks, not when the budget is made.
        var lazy = new ComparisonBudget(null, TimeSpan.FromMilliseconds(200), CancellationToken.None);
        Thread.Sleep(400);
        Assert.IsTrue(lazy.TryAllot(out limit, out _));
        Assert.IsTrue(limit > TimeSpan.FromMilliseconds(100) && limit <= TimeSpan.FromMilliseconds(200), $"{limit}");

        var unlimited = new ComparisonBudget(null, null, new CancellationToken(canceled: true));
        Assert.IsTrue(unlimited.TryAllot(out limit, out _));
        Assert.IsNull(limit);
        Assert.AreEqual("The comparison was cancelled before this candidate started.", unlimited.Cancelled);
    }

    /// <summary>A strategy that trains nothing: it records each trial and spends <paramref name="seconds"/> of a fake clock.</summary>
    private sealed class Recording(string model, double seconds, Func<TimeSpan> read, Action<TimeSpan> advance) : ICandidateStrategy
    {
        public List<CandidateTrial> Trials { get; } = [];

        public CandidateResult Run(CandidateTrial trial, CancellationToken cancellationToken)
        {
            Trials.Add(trial);
            advance(read() + TimeSpan.FromSeconds(seconds));
            return Succeeded(trial.Candidate.Name, model, 75) with { Variant = trial.Blank.Variant };
        }

        public StrategyFingerprint Fingerprint(ComparisonCandidate candidate, int imageSize) => new(null, 0, null);

        public string ChanceCause(int trainImages) => "recorded";
    }

    [TestMethod]
    public void TheLoopRunsCandidatesUntilTheBudgetIsSpentThenSkipsAndLaterReuses()
    {
        using var dir = new TemporaryDirectory();
        string model = Path.Combine(dir.Path, "model.onnx");
        File.WriteAllBytes(model, [1]);
        var elapsed = TimeSpan.Zero;
        var settings = Settings(ComparisonStrategy.FineTune, [.. new[] { "a", "b", "c", "d" }.Select(n => new ComparisonCandidate(Tiny) { Name = n })]);
        settings.OutputDirectory = Path.Combine(dir.Path, "out");
        settings.TimePerCandidate = TimeSpan.FromSeconds(30);
        settings.TotalTime = TimeSpan.FromSeconds(100);
        var phases = new List<string>();
        settings.Progress = p => phases.Add($"{p.Candidate}:{p.Phase}");
        Recording? strategy = null;
        ComparisonResult Execute() => new EfficientNetComparisonExperiment(settings, (_, _) => strategy = new Recording(model, 40, () => elapsed, t => elapsed = t), () => elapsed)
            .Execute(Split.Value.Train, Split.Value.HeldOut);

        // 40 s a candidate against 100 s in all: a, b and c start (c with the 20 s left), d finds the budget spent.
        var result = Execute();
        CollectionAssert.AreEqual(new TimeSpan?[] { TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(20) }, strategy!.Trials.Select(t => t.Limit).ToArray());
        CollectionAssert.AreEqual(new[] { CandidateStatus.Succeeded, CandidateStatus.Succeeded, CandidateStatus.Succeeded, CandidateStatus.Skipped },
            result.Candidates.Select(c => c.Status).ToArray());
        Assert.AreEqual("The total time budget of 1m40s was spent before this candidate started.", result.Candidates[3].Error);
        CollectionAssert.AreEqual(new[] { "a:Starting", "a:Finished", "b:Starting", "b:Finished", "c:Starting", "c:Finished", "d:Finished" }, phases);
        Assert.AreEqual(Path.Combine(settings.OutputDirectory, "c"), strategy.Trials[2].Folder);

        // Run again on a fresh clock: the three that finished are reused, d runs.
        elapsed = TimeSpan.Zero;
        phases.Clear();
        result = Execute();
        CollectionAssert.AreEqual(new[] { "d" }, strategy.Trials.Select(t => t.Candidate.Name).ToArray());
        CollectionAssert.AreEqual(new[] { true, true, true, false }, result.Candidates.Select(c => c.Reused).ToArray());
        CollectionAssert.AreEqual(new[] { "a:Reused", "b:Reused", "c:Reused", "d:Starting", "d:Finished" }, phases);

        // Cancelled before it starts: every candidate is skipped saying so, and nothing runs or is reused.
        settings.Resume = false;
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        result = new EfficientNetComparisonExperiment(settings, (_, _) => strategy = new Recording(model, 40, () => elapsed, t => elapsed = t), () => elapsed)
            .Execute(Split.Value.Train, Split.Value.HeldOut, cancelled.Token);
        Assert.AreEqual(0, strategy.Trials.Count);
        Assert.IsTrue(result.Candidates.All(c => c.Status == CandidateStatus.Skipped && c.Error == "The comparison was cancelled before this candidate started."));
    }
}
