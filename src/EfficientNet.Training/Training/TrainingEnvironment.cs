using static TorchSharp.torch;

namespace EfficientNet.Training.Training;

/// <summary>
/// The process-wide libtorch set-up of a run, done once before anything else touches a tensor: the device (checked to
/// exist), libtorch's thread count, glibc's handling of freed memory, and the seed of libtorch's generator (weight
/// initialisation, dropout, stochastic depth).
/// </summary>
internal static class TrainingEnvironment
{
    /// <summary>Applies <paramref name="options"/>' device, thread, memory and seed settings.</summary>
    /// <param name="options">The run's options.</param>
    /// <returns>The device to train on.</returns>
    public static Device Prepare(EfficientNetTrainingOptions options)
    {
        var device = TrainingDevice.Resolve(options.Device);
        set_num_threads(options.Threads ?? Environment.ProcessorCount);
        if (options.KeepFreedMemory) TrainingRuntime.KeepFreedMemory();
        manual_seed(options.Seed);
        return device;
    }
}
