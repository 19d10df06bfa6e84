using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.ML.EfficientNet.IO;
using Microsoft.ML.EfficientNet.Weights;

namespace Microsoft.ML.EfficientNet.Onnx;

/// <summary>
/// The ONNX models exported for featurizers, keyed by what determines the file: the SHA-256 of the weights' canonical
/// keys and float32 values, the network (variant, class count, parameters), the weights' conventions and origin (both
/// recorded in the metadata), whether the head was replaced, the outputs, the resolution, the preprocessing and labels the
/// weights file records (<see cref="RecipeMetadata"/>), and the build of this library
/// that wrote it (its module version id, which changes with any change to the exporter). A second <c>Fit</c> of the same
/// weights then reuses the export instead of writing the graph again.
/// <para>
/// Two tiers. In memory: the few most recently used models, at most <see cref="Capacity"/> of them and at most
/// <see cref="MaxBytes"/> in all (about 21 MB each for B0, 267 MB for B7), so a process that fits large variants does not
/// hold a gigabyte of models it no longer uses. On disk, when a folder is given: one file per key, so a later process (a
/// one-shot <c>efficientnet featurize</c>, a restarted service) loads the file instead of exporting. Each file's name
/// carries the SHA-256 of its bytes, checked on every read; files are written atomically (<see cref="AtomicFile"/>), so
/// concurrent processes may write the same key, and a file that is gone, short or damaged is exported again. The digest
/// guards against damage, not against someone who may write the folder: like the downloaded weights beside it, the
/// folder is trusted (anyone who can write it could also replace the weights). The folder is kept under
/// <see cref="MaxDiskBytes"/>, least recently used first out. A failure to write the folder (full disk, no permission)
/// is logged and costs only the caching.
/// </para>
/// </summary>
internal static class OnnxExportCache
{
    /// <summary>Models kept in memory; the least recently used goes first.</summary>
    public const int Capacity = 4;

    /// <summary>Bytes kept in memory in all; a model larger than this is not kept in memory. 320 MB: one B7, or several small models.</summary>
    public const long MaxBytes = 320L * 1024 * 1024;

    /// <summary>Bytes of exported models kept in a disk folder: 2 GB, about seven B7 models or a hundred B0 ones.</summary>
    public const long MaxDiskBytes = 2L * 1024 * 1024 * 1024;

    /// <summary>The sub-folder of the weights cache that holds exported models.</summary>
    public const string FolderName = "exports";

    private static readonly LinkedList<(string Key, byte[] Model)> Entries = new();
    private static readonly Lock Gate = new();

    /// <summary>
    /// The exported model of <paramref name="checkpoint"/> with <paramref name="outputs"/> and <paramref name="resolution"/>:
    /// from memory, else from <paramref name="folder"/>, else exported now (and then kept in both). The array is shared:
    /// callers must not change it.
    /// </summary>
    /// <param name="checkpoint">The weights.</param>
    /// <param name="outputs">The outputs of the exported graph.</param>
    /// <param name="resolution">Network input side; null: the weights' published crop.</param>
    /// <param name="folder">Folder of exported models on disk; null: memory only.</param>
    /// <param name="logger">Receives a warning when the folder cannot be written; optional.</param>
    public static byte[] GetOrExport(EfficientNetCheckpoint checkpoint, OnnxOutputs outputs, int? resolution, string? folder = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        string key = Key(checkpoint, outputs, resolution);
        lock (Gate)
        {
            for (var node = Entries.First; node is not null; node = node.Next)
            {
                if (node.Value.Key != key) continue;
                Entries.Remove(node);
                Entries.AddFirst(node);
                return node.Value.Model;
            }
        }
        byte[]? model = folder is null ? null : ReadFile(folder, key);
        if (model is null)
        {
            model = EfficientNetOnnxExporter.Export(checkpoint, new OnnxExportOptions { Outputs = outputs, Resolution = resolution });
            if (folder is not null) WriteFile(folder, key, model, logger);
        }
        lock (Gate)
        {
            if (model.Length <= MaxBytes && !Entries.Any(e => e.Key == key)) Entries.AddFirst((key, model));
            while (Entries.Count > Capacity || Entries.Sum(e => (long)e.Model.Length) > MaxBytes) Entries.RemoveLast();
        }
        return model;
    }

    /// <summary>The folder of exported models under a weights cache folder (null: the default weights cache).</summary>
    public static string Folder(string? cacheDirectory) => Path.Combine(Path.GetFullPath(cacheDirectory ?? WeightCache.DefaultDirectory()), FolderName);

    /// <summary>Drops every model kept in memory (tests; memory). Files on disk stay.</summary>
    public static void Clear()
    {
        lock (Gate) Entries.Clear();
    }

    /// <summary>How many models are kept in memory now.</summary>
    public static int Count
    {
        get
        {
            lock (Gate) return Entries.Count;
        }
    }

    private static string Key(EfficientNetCheckpoint checkpoint, OnnxOutputs outputs, int? resolution)
    {
        var spec = checkpoint.Spec;
        // The preprocessing and labels the weights file records are built into the graph and its metadata.
        var recipe = checkpoint.Preprocessing;
        string recorded = string.Create(CultureInfo.InvariantCulture,
            $"{recipe.ResizeSize}/{recipe.CropSize}/{recipe.Mean}/{recipe.Std}/{recipe.Interpolation}/{string.Join("\u001f", checkpoint.Labels ?? [])}");
        // Invariant culture throughout, so processes of any culture share files (the weight source is spelled out: a
        // record's ToString prints its numbers in the current culture). The metadata also records the checkpoint file's
        // SHA-256; hashing the file here would cost a B7 fit about a second on every hit, so its size and time stamp stand
        // for it: a file rewritten with the same tensors but other bytes then gets a fresh export and the right digest.
        return string.Create(CultureInfo.InvariantCulture,
            $"{checkpoint.Weights.Sha256()}|{FileStamp(checkpoint.Origin)}|{spec.Variant.Name}|{spec.Variant.Resolution}|{spec.NumClasses}|{spec.ParameterCount}|" +
            $"{checkpoint.Source.Format}|{checkpoint.Source.Padding}|{checkpoint.Source.BatchNormEpsilon:R}|{checkpoint.Source.BatchNormMomentum:R}|{checkpoint.Origin}|{checkpoint.HeadReplaced}|{outputs}|{resolution}|{recorded}|{typeof(OnnxExportCache).Assembly.ManifestModule.ModuleVersionId}");
    }

    /// <summary>The size and last write time of the weights file <paramref name="origin"/>, or "" when it is not a file (random weights).</summary>
    private static string FileStamp(string origin) =>
        File.Exists(origin) ? string.Create(CultureInfo.InvariantCulture, $"{new FileInfo(origin).Length}@{File.GetLastWriteTimeUtc(origin).Ticks}") : "";

    /// <summary>File names are <c>{key digest}-{content digest}.onnx</c>, 16 hex digits each.</summary>
    private static string KeyDigest(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..16];

    private static string ContentDigest(byte[] model) => Convert.ToHexStringLower(SHA256.HashData(model))[..16];

    /// <summary>The model stored for <paramref name="key"/>, or null when there is none or it does not match its name's digest (then it is deleted).</summary>
    private static byte[]? ReadFile(string folder, string key)
    {
        string prefix = KeyDigest(key) + "-";
        string[] candidates;
        try
        {
            candidates = Directory.Exists(folder) ? Directory.GetFiles(folder, prefix + "*.onnx") : [];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        foreach (string file in candidates)
        {
            try
            {
                byte[] model = File.ReadAllBytes(file);
                if (Path.GetFileNameWithoutExtension(file) == prefix + ContentDigest(model))
                {
                    Touch(file);
                    return model;
                }
                File.Delete(file); // damaged: export again
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Removed by another process's eviction meanwhile, or unreadable: export again.
            }
        }
        return null;
    }

    /// <summary>Marks a file recently used (evicted last); a file this process may read but not touch (another user's) stays usable.</summary>
    private static void Touch(string file)
    {
        try
        {
            File.SetLastWriteTimeUtc(file, DateTime.UtcNow);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    private static void WriteFile(string folder, string key, byte[] model, ILogger? logger)
    {
        try
        {
            AtomicFile.Write(Path.Combine(folder, $"{KeyDigest(key)}-{ContentDigest(model)}.onnx"), stream => stream.Write(model));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger?.LogWarning("Could not keep the exported model in {Folder} ({Error}); the next process will export it again.", folder, e.Message);
            return;
        }
        Evict(folder, MaxDiskBytes);
    }

    /// <summary>
    /// Deletes the least recently used models until the folder holds at most <paramref name="limit"/> bytes of them
    /// (<see cref="MaxDiskBytes"/> after each write), and temporary
    /// files of writes that were killed (older than an hour, so none still being written). A file another process removes
    /// meanwhile, or one this process may not delete, is skipped.
    /// </summary>
    internal static void Evict(string folder, long limit)
    {
        FileInfo[] files;
        try
        {
            files = new DirectoryInfo(folder).GetFiles("*.onnx*");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return;
        }
        long total = 0;
        var staleBefore = DateTime.UtcNow - TimeSpan.FromHours(1);
        foreach (var file in files.OrderByDescending(f => f.LastWriteTimeUtc))
        {
            try
            {
                bool temporary = !file.Name.EndsWith(".onnx", StringComparison.Ordinal);
                if (temporary ? file.LastWriteTimeUtc >= staleBefore : (total += file.Length) <= limit) continue;
                file.Delete();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone already (another process evicted it) or not ours to delete.
            }
        }
    }
}
