using System.Text.Json;
using System.Text.Json.Serialization;
using EfficientNet.Training.Modules;
using EfficientNet.Training.Optimizers;
using EfficientNet.Training.Weights;
using Microsoft.ML.EfficientNet.IO;
using Microsoft.ML.EfficientNet.Weights;
using static TorchSharp.torch;

namespace EfficientNet.Training.Training;

/// <summary>Scalar state of a run, stored as <c>state.json</c> in each checkpoint.</summary>
internal sealed record RunState
{
    public int FormatVersion { get; init; } = 1;
    public string Variant { get; init; } = "";
    public IReadOnlyList<string> Classes { get; init; } = [];
    public int ImageSize { get; init; }
    public int Epoch { get; init; }
    public int BatchInEpoch { get; init; }
    public long GlobalStep { get; init; }
    public long OptimizerSteps { get; init; }
    public double BestAccuracy { get; init; } = double.NegativeInfinity;
    public int BestEpoch { get; init; } = -1;
    public int EpochsWithoutImprovement { get; init; }
    public string RandomState { get; init; } = "";
    public IReadOnlyList<EpochMetrics> History { get; init; } = [];
}

/// <summary>
/// Run checkpoints in <see cref="RunFolder.CheckpointsPath"/>: a folder per checkpoint (<c>model.safetensors</c>,
/// <c>optimizer.safetensors</c>, <c>ema.safetensors</c>, <c>state.json</c>; names from <see cref="RunFolder"/>), written
/// under a temporary name and renamed into place, then named in <c>latest</c> (itself replaced atomically). A run killed
/// at any moment leaves the previous checkpoint intact and <c>latest</c> pointing at a complete one.
/// </summary>
internal sealed class CheckpointStore(RunFolder run, int keep)
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public string Directory { get; } = run.CheckpointsPath;

    private string LatestFile { get; } = run.LatestPath;

    public string Save(string name, EfficientNetModel model, EfficientNetModel? ema, Optimizer optimizer, RunState state)
    {
        System.IO.Directory.CreateDirectory(Directory);
        string final = Path.Combine(Directory, name);
        string temporary = Path.Combine(Directory, ".tmp-" + name + "-" + Guid.NewGuid().ToString("N")[..6]);
        System.IO.Directory.CreateDirectory(temporary);
        try
        {
            SafeTensorsFile.Write(Path.Combine(temporary, RunFolder.WeightsFileName), ModelWeights.ToStateDict(model).Entries);
            if (ema is not null) SafeTensorsFile.Write(Path.Combine(temporary, RunFolder.CheckpointEmaFileName), ModelWeights.ToStateDict(ema).Entries);
            var (tensors, steps) = optimizer.SaveState();
            SafeTensorsFile.Write(Path.Combine(temporary, RunFolder.CheckpointOptimizerFileName), tensors.Select(t => new KeyValuePair<string, WeightTensor>(t.Key, ToWeight(t.Value))));
            File.WriteAllText(Path.Combine(temporary, RunFolder.CheckpointStateFileName), JsonSerializer.Serialize(state with { OptimizerSteps = steps }, Json));
            if (System.IO.Directory.Exists(final)) System.IO.Directory.Delete(final, recursive: true);
            System.IO.Directory.Move(temporary, final);
        }
        finally
        {
            if (System.IO.Directory.Exists(temporary)) System.IO.Directory.Delete(temporary, recursive: true);
        }
        AtomicWrite(LatestFile, name);
        Prune(name);
        return final;
    }

    /// <summary>The last complete checkpoint, or null.</summary>
    public string? Latest()
    {
        if (!File.Exists(LatestFile)) return null;
        string path = Path.Combine(Directory, File.ReadAllText(LatestFile).Trim());
        return File.Exists(Path.Combine(path, RunFolder.CheckpointStateFileName)) ? path : null;
    }

    public static RunState Load(string checkpoint, EfficientNetModel model, EfficientNetModel? ema, Optimizer optimizer)
    {
        var state = JsonSerializer.Deserialize<RunState>(File.ReadAllText(Path.Combine(checkpoint, RunFolder.CheckpointStateFileName)), Json)
            ?? throw new InvalidDataException($"{Path.Combine(checkpoint, RunFolder.CheckpointStateFileName)} is empty.");
        ModelWeights.Load(model, SafeTensorsFile.Read(Path.Combine(checkpoint, RunFolder.WeightsFileName)));
        if (ema is not null)
        {
            string emaFile = Path.Combine(checkpoint, RunFolder.CheckpointEmaFileName);
            ModelWeights.Load(ema, SafeTensorsFile.Read(File.Exists(emaFile) ? emaFile : Path.Combine(checkpoint, RunFolder.WeightsFileName)));
        }
        var saved = SafeTensorsFile.Read(Path.Combine(checkpoint, RunFolder.CheckpointOptimizerFileName));
        var tensors = new Dictionary<string, Tensor>();
        try
        {
            foreach (var (key, value) in saved.Entries)
            {
                var t = tensor(value.Values, value.Shape, dtype: ScalarType.Float32);
                tensors[key] = key.EndsWith("/step", StringComparison.Ordinal) ? t.to_type(ScalarType.Float64) : t;
            }
            optimizer.LoadState(tensors, state.OptimizerSteps);
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
        return state;
    }

    public static string SaveRandomState()
    {
        using var rng = get_rng_state();
        return Convert.ToBase64String(rng.data<byte>().ToArray());
    }

    public static void RestoreRandomState(string state)
    {
        if (string.IsNullOrEmpty(state)) return;
        var bytes = Convert.FromBase64String(state);
        using var rng = tensor(bytes, dtype: ScalarType.Byte);
        set_rng_state(rng);
    }

    private void Prune(string keepName)
    {
        var epochs = System.IO.Directory.GetDirectories(Directory, RunFolder.EpochCheckpointPattern).Order(StringComparer.Ordinal).ToList();
        foreach (string old in epochs.Take(Math.Max(0, epochs.Count - keep)))
        {
            if (Path.GetFileName(old) != keepName) System.IO.Directory.Delete(old, recursive: true);
        }
        foreach (string interrupted in System.IO.Directory.GetDirectories(Directory, RunFolder.InterruptedCheckpointPattern))
        {
            if (Path.GetFileName(interrupted) != keepName) System.IO.Directory.Delete(interrupted, recursive: true);
        }
    }

    private static WeightTensor ToWeight(Tensor value)
    {
        using var cpu = value.detach().cpu().to_type(ScalarType.Float32).contiguous();
        return new WeightTensor(cpu.shape, cpu.data<float>().ToArray());
    }

    private static void AtomicWrite(string path, string text)
    {
        string temporary = path + ".tmp-" + Guid.NewGuid().ToString("N")[..6];
        File.WriteAllText(temporary, text);
        File.Move(temporary, path, overwrite: true);
    }
}
