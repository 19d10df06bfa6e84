using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace EfficientNet.Benchmarks;

/// <summary>
/// For benchmarks whose one invocation is a whole run over a set of images (seconds long): in process, one warm-up and
/// five measured iterations of one invocation each.
/// </summary>
internal sealed class WholeRunConfig : ManualConfig
{
    public WholeRunConfig()
    {
        AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithLaunchCount(1).WithWarmupCount(1).WithIterationCount(5).WithInvocationCount(1).WithUnrollFactor(1));
        WithOptions(ConfigOptions.DisableOptimizationsValidator);
    }
}
