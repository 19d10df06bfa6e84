using static TorchSharp.torch;

namespace EfficientNet.Training.Training;

/// <summary>Parses <c>cpu</c>, <c>cuda</c> and <c>cuda:N</c>, and checks that the device exists before any work starts.</summary>
internal static class TrainingDevice
{
    /// <summary>The TorchSharp device for a name.</summary>
    /// <param name="name"><c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>.</param>
    /// <exception cref="ArgumentException">Unknown name.</exception>
    /// <exception cref="InvalidOperationException">CUDA was asked for but this process's libtorch has no CUDA (TorchSharp-cpu) or no such GPU.</exception>
    public static Device Resolve(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        string n = name.Trim().ToLowerInvariant();
        if (n == "cpu") return CPU;
        if (n != "cuda" && !n.StartsWith("cuda:", StringComparison.Ordinal))
            throw new ArgumentException($"Unknown device '{name}'. Use cpu, cuda or cuda:N.", nameof(name));
        int index = n == "cuda" ? 0 : int.TryParse(n[5..], out int i) && i >= 0 ? i
            : throw new ArgumentException($"Unknown device '{name}'. Use cpu, cuda or cuda:N.", nameof(name));
        if (!cuda.is_available())
            throw new InvalidOperationException($"Device '{name}' was requested but this process's libtorch has no CUDA support: it references " +
                "TorchSharp-cpu. Reference a CUDA build instead (TorchSharp-cuda-linux or TorchSharp-cuda-windows; see docs/TRAINING.md) and make sure a CUDA driver is installed.");
        int count = (int)cuda.device_count();
        if (index >= count) throw new InvalidOperationException($"Device '{name}' was requested but only {count} CUDA device(s) exist.");
        return new Device(TorchSharp.DeviceType.CUDA, index);
    }
}
