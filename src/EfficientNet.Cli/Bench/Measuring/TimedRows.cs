using EfficientNet.Cli.Bench.Reporting;
using Microsoft.ML;

namespace EfficientNet.Cli.Bench.Measuring;

/// <summary>
/// The rows of the main table that are timed together: ML.NET transformers over the path column and ONNX Runtime
/// sessions over prepared input. Every row is opened first and then timed in rounds (each row once per round), so that
/// load from outside the process falls on all rows alike. Owns what the rows hold open until disposed.
/// </summary>
internal sealed class TimedRows : IDisposable
{
    private readonly List<Candidate> _candidates = [];
    private readonly List<(string Group, OnnxRuntimeSetting Setting, Action Pass, Action WarmUp)> _sessions = [];
    private readonly List<IDisposable> _resources = [];

    /// <summary>A transformer to time, and whether it may be its group's best (a reference row may not).</summary>
    private sealed record Candidate(string Group, string Setting, ITransformer Transformer, bool Eligible);

    /// <summary>Rows added so far.</summary>
    public int Count => _candidates.Count + _sessions.Count;

    /// <summary>Disposes <paramref name="resource"/> with the rows.</summary>
    public T Own<T>(T resource) where T : IDisposable
    {
        _resources.Add(resource);
        return resource;
    }

    /// <summary>Adds a transformer over the path column; <paramref name="eligible"/> false: a reference row, never its group's best.</summary>
    public void Add(string group, string setting, ITransformer transformer, bool eligible = true) =>
        _candidates.Add(new(group, setting, transformer, eligible));

    /// <summary>Adds one row per setting of <paramref name="grid"/>: a session over <paramref name="model"/> scoring <paramref name="count"/> images of <paramref name="input"/>.</summary>
    public void AddSessions(string group, byte[] model, string outputName, float[] input, int count, IEnumerable<OnnxRuntimeSetting> grid)
    {
        foreach (var setting in grid)
        {
            var (session, pass, warmUp) = OnnxRuntimeThroughput.Open(model, outputName, input, count, setting);
            Own(session);
            _sessions.Add((group, setting, pass, warmUp));
        }
    }

    /// <summary>
    /// Times every row in <paramref name="runs"/> rounds of <paramref name="count"/> images (transformers over
    /// <paramref name="paths"/>, warmed on <paramref name="warmPaths"/>); the rows in the order added, transformers first.
    /// </summary>
    public List<Row> Time(IDataView paths, IDataView warmPaths, string featuresColumn, int count, int runs)
    {
        var passes = new List<(Action Pass, Action? WarmUp)>();
        foreach (var c in _candidates)
            passes.Add((() => FeaturizerMeasurements.Consume(c.Transformer.Transform(paths), featuresColumn, count), () => FeaturizerMeasurements.Consume(c.Transformer.Transform(warmPaths), featuresColumn, -1)));
        passes.AddRange(_sessions.Select(s => (s.Pass, (Action?)s.WarmUp)));
        double[] measured = Throughput.BestImagesPerSecond(passes, count, runs);
        var timed = _candidates.Select((c, i) => new Row(c.Group, c.Setting, measured[i], false)).ToList();
        timed.AddRange(_sessions.Select((s, i) => new Row(s.Group, s.Setting == OnnxRuntimeSetting.Default ? $"{s.Setting} (default session)" : s.Setting.ToString(), measured[_candidates.Count + i], false)));
        return timed;
    }

    /// <summary>Marks the fastest row of each group that may be its best (reference rows may not); grouped in order of first appearance.</summary>
    public List<Row> MarkBest(IEnumerable<Row> timed)
    {
        var rows = new List<Row>();
        foreach (var group in timed.GroupBy(t => t.Group))
        {
            var eligible = group.Where(t => _candidates.FirstOrDefault(c => c.Group == t.Group && c.Setting == t.Setting) is not { Eligible: false }).ToList();
            double top = eligible.Max(t => t.ImagesPerSecond);
            rows.AddRange(group.Select(t => t with { Best = eligible.Contains(t) && t.ImagesPerSecond == top }));
        }
        return rows;
    }

    /// <summary>Disposes every resource the rows hold, in the order added.</summary>
    public void Dispose()
    {
        foreach (var resource in _resources) resource.Dispose();
    }
}
