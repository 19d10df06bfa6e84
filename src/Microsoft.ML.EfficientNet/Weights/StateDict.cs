using System.Security.Cryptography;
using System.Text;

namespace Microsoft.ML.EfficientNet.Weights;

/// <summary>
/// An ordered map from state-dict key to tensor, as read from a checkpoint file or taken from a live model.
/// Reading needs no TorchSharp: <c>.pth</c> (torch's zip serialisation) is read by a small built-in unpickler and
/// <c>.safetensors</c> by its JSON header.
/// </summary>
internal sealed class StateDict
{
    private readonly OrderedDictionary<string, WeightTensor> _tensors;

    /// <summary>Creates a state dict from key/tensor pairs, keeping their order.</summary>
    /// <param name="tensors">The entries; keys must be unique.</param>
    /// <param name="source">Where the entries came from (a file path or a description), for messages.</param>
    public StateDict(IEnumerable<KeyValuePair<string, WeightTensor>> tensors, string source = "memory")
    {
        ArgumentNullException.ThrowIfNull(tensors);
        _tensors = new OrderedDictionary<string, WeightTensor>(StringComparer.Ordinal);
        foreach (var (key, tensor) in tensors)
        {
            if (!_tensors.TryAdd(key, tensor)) throw new ArgumentException($"Duplicate state-dict key '{key}' in {source}.", nameof(tensors));
        }
        Source = source;
    }

    /// <summary>Where the entries came from (a file path or a description).</summary>
    public string Source { get; }

    /// <summary>
    /// The file's string metadata (a safetensors file's <c>__metadata__</c>; empty for other sources), where a file
    /// records its preprocessing (<see cref="RecipeMetadata"/>).
    /// </summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = EmptyMetadata;

    private static readonly IReadOnlyDictionary<string, string> EmptyMetadata = new Dictionary<string, string>();

    /// <summary>Number of entries.</summary>
    public int Count => _tensors.Count;

    /// <summary>The keys, in file order.</summary>
    public IEnumerable<string> Keys => _tensors.Keys;

    /// <summary>The entries, in file order.</summary>
    public IEnumerable<KeyValuePair<string, WeightTensor>> Entries => _tensors;

    /// <summary>The tensor stored under <paramref name="key"/>.</summary>
    /// <param name="key">State-dict key.</param>
    /// <exception cref="KeyNotFoundException">The key is absent; the message names it and the source.</exception>
    public WeightTensor this[string key] =>
        _tensors.TryGetValue(key, out var tensor) ? tensor : throw new KeyNotFoundException($"Tensor '{key}' is not in {Source}.");

    /// <summary>True when the key is present.</summary>
    /// <param name="key">State-dict key.</param>
    public bool ContainsKey(string key) => _tensors.ContainsKey(key);

    /// <summary>Looks a key up without throwing.</summary>
    /// <param name="key">State-dict key.</param>
    /// <param name="tensor">The tensor when present.</param>
    public bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out WeightTensor tensor) =>
        _tensors.TryGetValue(key, out tensor);

    /// <summary>
    /// SHA-256 (lowercase hex) of the keys (UTF-8) and float32 data of every entry in order: the identity of weights made
    /// in memory, which have no file to hash.
    /// </summary>
    internal string Sha256()
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (key, tensor) in Entries)
        {
            hash.AppendData(Encoding.UTF8.GetBytes(key));
            hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(tensor.Values.AsSpan()));
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>
    /// Reads a checkpoint: torch zip serialisation (<c>.pth</c>, <c>.pt</c>, <c>.bin</c>) or safetensors, chosen by the
    /// file's first bytes, not its name. A checkpoint that wraps its weights (<c>{"state_dict": …}</c>,
    /// <c>{"model": …}</c>, <c>{"state_dict_ema": …}</c>) is unwrapped.
    /// </summary>
    /// <param name="path">The checkpoint file.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is truncated, in torch's legacy (pre-1.6) format, or not a checkpoint;
    /// the message says which and what to do.</exception>
    public static StateDict Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"Checkpoint file '{path}' does not exist.", path);
        return CheckpointFileKind.Detect(path) switch
        {
            CheckpointFileKind.Kind.TorchZip => TorchCheckpointReader.Read(path),
            CheckpointFileKind.Kind.SafeTensors => SafeTensorsFile.Read(path),
            CheckpointFileKind.Kind.TorchLegacy => throw new InvalidDataException(
                $"'{path}' uses torch's legacy (pre-1.6, non-zip) serialisation, which is not supported. Re-save it in Python with " +
                "torch.save(torch.load(path), new_path) under torch ≥ 1.6, or convert it to .safetensors."),
            CheckpointFileKind.Kind.Onnx => throw new InvalidDataException(
                $"'{path}' is an ONNX model, not a checkpoint. ONNX files are scored as they are; pass them where an .onnx model is accepted."),
            _ => throw new InvalidDataException(
                $"'{path}' is neither a torch zip checkpoint (.pth) nor a safetensors file (its first bytes match neither format)."),
        };
    }
}
