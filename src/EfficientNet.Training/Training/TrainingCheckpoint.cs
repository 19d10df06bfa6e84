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

    /// <summary>The epoch whose weights <see cref="RunFolder.BestWeightsPath"/> holds (the best one, or the last with <see cref="KeptModel.Last"/>).</summary>
    public int KeptEpoch { get; init; } = -1;

    /// <summary>The rule that chose <see cref="KeptEpoch"/>; a resumed run must use the same one. Checkpoints written before it existed kept the best.</summary>
    public KeptModel KeepModel { get; init; } = KeptModel.Best;
    public int EpochsWithoutImprovement { get; init; }
    public string RandomState { get; init; } = "";
    public IReadOnlyList<EpochMetrics> History { get; init; } = [];
}

/// <summary>
/// Run checkpoints in <see cref="RunFolder.CheckpointsPath"/>: a folder per checkpoint (<c>model.safetensors</c>,
/// <c>optimizer.safetensors</c>, <c>ema.safetensors</c>, <c>state.json</c>; names from <see cref="RunFolder"/>), written
/// under a temporary name and renamed into place, then named in <c>latest</c> (itself replaced atomically). A run killed
/// at any moment leaves the previous checkpoint intact and <c>latest</c> pointing at a complete one. Also the run's
/// <c>best.safetensors</c>. Every weights file it writes carries <paramref name="weightsMetadata"/> (the run's recipe,
/// <see cref="TrainingRecipe.Metadata"/>), so any of them scores, exports or restarts training with the run's preprocessing.
/// </summary>
internal sealed class CheckpointStore(RunFolder run, int keep, IReadOnlyDictionary<string, string>? weightsMetadata = null)
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public string Directory { get; } = run.CheckpointsPath;

    private string LatestFile { get; } = run.LatestPath;

    /// <summary>
    /// Writes the checkpoint <paramref name="name"/> and names it in <c>latest</c>. When a write fails (a full disk), the
    /// partial checkpoint is removed, <c>latest</c> keeps naming the previous one, and the <see cref="IOException"/> names
    /// the file that could not be written and the checkpoint that is kept.
    /// </summary>
    public string Save(string name, EfficientNetModel model, EfficientNetModel? ema, Optimizer optimizer, RunState state)
    {
        System.IO.Directory.CreateDirectory(Directory);
        RemoveDebris();
        string final = Path.Combine(Directory, name);
        string temporary = Path.Combine(Directory, TemporaryPrefix + name + "-" + Guid.NewGuid().ToString("N")[..6]);
        string writing = temporary;
        try
        {
            System.IO.Directory.CreateDirectory(temporary);
            writing = Path.Combine(temporary, RunFolder.WeightsFileName);
            SafeTensorsFile.Write(writing, ModelWeights.ToStateDict(model).Entries, weightsMetadata);
            if (ema is not null)
            {
                writing = Path.Combine(temporary, RunFolder.CheckpointEmaFileName);
                SafeTensorsFile.Write(writing, ModelWeights.ToStateDict(ema).Entries, weightsMetadata);
            }
            var (tensors, steps) = optimizer.SaveState();
            writing = Path.Combine(temporary, RunFolder.CheckpointOptimizerFileName);
            SafeTensorsFile.Write(writing, tensors.Select(t => new KeyValuePair<string, WeightTensor>(t.Key, ToWeight(t.Value))));
            writing = Path.Combine(temporary, RunFolder.CheckpointStateFileName);
            AtomicFile.WriteAllBytes(writing, JsonSerializer.SerializeToUtf8Bytes(state with { OptimizerSteps = steps }, Json));
            writing = final;
            // A checkpoint of the same name is moved aside, not deleted in place, so the name is without a whole folder
            // only between two renames.
            string? replaced = System.IO.Directory.Exists(final) ? MoveAside(final) : null;
            System.IO.Directory.Move(temporary, final);
            AtomicFile.FlushDirectory(Directory); // the folder's new name is durable before latest names it
            writing = LatestFile;
            AtomicFile.WriteAllBytes(LatestFile, System.Text.Encoding.UTF8.GetBytes(name));
            if (replaced is not null) TryDelete(replaced);
        }
        catch (IOException e)
        {
            TryDelete(temporary);
            string kept = Latest() is { } previous ? $"The previous checkpoint {previous} is kept as the latest" : "There is no earlier checkpoint";
            throw new IOException($"Could not save the checkpoint {final}: writing {writing} failed: {e.Message.TrimEnd('.')}. {kept}; " +
                "free some disk space and run again with the same output folder to resume from it.", e);
        }
        finally
        {
            TryDelete(temporary);
        }
        Prune(name);
        return final;
    }

    /// <summary>Writes <paramref name="model"/>'s weights as the run's <c>best.safetensors</c>, with the run's recipe.</summary>
    public void SaveBest(EfficientNetModel model) =>
        SafeTensorsFile.Write(run.BestWeightsPath, ModelWeights.ToStateDict(model, "best weights").Entries, weightsMetadata);

    /// <summary>Prefix of the folders and files being written; a run killed while writing leaves them, and they never count as checkpoints.</summary>
    internal const string TemporaryPrefix = ".tmp-";

    /// <summary>
    /// The last complete checkpoint, or null: the one <c>latest</c> names, or, when that folder is gone (a run killed
    /// while replacing a checkpoint of the same name), the complete checkpoint with the most steps.
    /// </summary>
    public string? Latest()
    {
        if (!File.Exists(LatestFile)) return null;
        string path = Path.Combine(Directory, File.ReadAllText(LatestFile).Trim());
        if (File.Exists(Path.Combine(path, RunFolder.CheckpointStateFileName))) return path;
        return System.IO.Directory.GetDirectories(Directory, RunFolder.EpochCheckpointPattern)
            .Concat(System.IO.Directory.GetDirectories(Directory, RunFolder.InterruptedCheckpointPattern))
            .Where(c => File.Exists(Path.Combine(c, RunFolder.CheckpointStateFileName)))
            .OrderByDescending(StepsOf)
            .FirstOrDefault();
    }

    private static long StepsOf(string checkpoint)
    {
        try
        {
            return JsonSerializer.Deserialize<RunState>(File.ReadAllText(Path.Combine(checkpoint, RunFolder.CheckpointStateFileName)), Json)?.GlobalStep ?? -1;
        }
        catch (JsonException)
        {
            return -1;
        }
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
            if (Path.GetFileName(old) != keepName) RemoveCheckpointFolder(old);
        }
        foreach (string interrupted in System.IO.Directory.GetDirectories(Directory, RunFolder.InterruptedCheckpointPattern))
        {
            if (Path.GetFileName(interrupted) != keepName) RemoveCheckpointFolder(interrupted);
        }
    }

    private static WeightTensor ToWeight(Tensor value)
    {
        using var cpu = value.detach().cpu().to_type(ScalarType.Float32).contiguous();
        return new WeightTensor(cpu.shape, cpu.data<float>().ToArray());
    }

    /// <summary>Removes what a killed run left half-written: <c>.tmp-*</c> checkpoint folders and <c>latest.tmp-*</c> files.</summary>
    private void RemoveDebris()
    {
        foreach (string folder in System.IO.Directory.GetDirectories(Directory, TemporaryPrefix + "*")) TryDelete(folder);
        foreach (string file in System.IO.Directory.GetFiles(Directory, RunFolder.LatestFileName + ".tmp-*")) File.Delete(file);
    }

    /// <summary>
    /// Removes a checkpoint folder so that a kill at any moment leaves it whole or gone: it is first renamed (atomic) to a
    /// temporary name, which never counts as a checkpoint, and only then deleted file by file. A recursive delete in
    /// place, killed half-way, would leave a folder with a checkpoint's name and some of its files (seen in the SIGKILL test).
    /// </summary>
    private void RemoveCheckpointFolder(string folder) => TryDelete(MoveAside(folder));

    /// <summary>Renames a checkpoint folder to a temporary name (which never counts as a checkpoint) and returns it.</summary>
    private string MoveAside(string folder)
    {
        string aside = Path.Combine(Directory, $"{TemporaryPrefix}removed-{Path.GetFileName(folder)}-{Guid.NewGuid():N}");
        System.IO.Directory.Move(folder, aside);
        return aside;
    }

    private static void TryDelete(string folder)
    {
        try
        {
            if (System.IO.Directory.Exists(folder)) System.IO.Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
            // Left for the next save's RemoveDebris; it is never taken for a checkpoint.
        }
    }
}
