using System.Runtime.InteropServices;

namespace EfficientNet.Training.Training;

/// <summary>
/// Makes glibc keep freed memory for reuse instead of unmapping it. libtorch allocates activations and gradients with
/// malloc; tensors above glibc's mmap threshold (at most 32 MB) get fresh pages from the kernel on every step and give
/// them back when freed, so each step pays a page fault per 4 KB of activations. Measured on this project's 2-core
/// machine for B0 at 224 px, batch 32: 12 s per step with the defaults, 2.4 s with freed memory kept (docs/TRAINING.md).
/// The cost: the process does not shrink below its peak until it exits, which suits a training run.
/// </summary>
internal static partial class TrainingRuntime
{
    private const int M_TRIM_THRESHOLD = -1;
    private const int M_MMAP_MAX = -4;
    private static int _applied;

    /// <summary>
    /// Applies the setting once per process (the trainer does when <see cref="EfficientNetTrainingOptions.KeepFreedMemory"/>
    /// is set); returns false where malloc is not glibc's (Windows, macOS, musl).
    /// </summary>
    public static bool KeepFreedMemory()
    {
        if (!OperatingSystem.IsLinux()) return false;
        if (Interlocked.Exchange(ref _applied, 1) == 1) return true;
        try
        {
            // No mmap for new allocations: everything comes from the heap, which is never trimmed.
            return Mallopt(M_MMAP_MAX, 0) == 1 && Mallopt(M_TRIM_THRESHOLD, int.MaxValue) == 1;
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            return false;
        }
    }

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int Mallopt(int parameter, int value);
}
