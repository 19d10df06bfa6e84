using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using EfficientNet.Training.Modules;
using Microsoft.ML.EfficientNet.Architecture;
using static TorchSharp.torch;

namespace EfficientNet.Benchmarks;

/// <summary>
/// Peak memory and step time of B0 training steps (224 px, batch 32, 10 classes, AdamW) with each memory option, each
/// configuration in its own processes. Memory is measured with glibc's default allocator, which returns large freed
/// blocks at once, so peak resident memory (VmHWM) follows the live tensors; activation memory is that peak minus the
/// resident size once model, optimiser and batch exist. Step time is measured in two more processes with freed memory
/// kept (what the trainer does), because with the default allocator page faults dominate the time; the faster of the two
/// is reported, as step times on a shared 2-core machine vary by ±20 % from run to run.
/// </summary>
internal static class TrainingMemoryBenchmark
{
    public const string Command = "training-memory";
    public const string ChildCommand = "training-memory-child";

    private static readonly (string Name, string Flags)[] Configurations =
    [
        ("plain (NCHW, SiLU, no checkpointing)", ""),
        ("memory-efficient SiLU", "silu"),
        ("channels-last", "cl"),
        ("checkpoint stages 1–3", "ckpt:1+2+3"),
        ("checkpoint stages 0–8 (all)", "ckpt:0+1+2+3+4+5+6+7+8"),
        ("channels-last + checkpoint stages 1–3", "cl,ckpt:1+2+3"),
        ("channels-last + checkpoint stages 1–2", "cl,ckpt:1+2"),
        ("channels-last + checkpoint stem and stages 1–2", "cl,ckpt:0+1+2"),
        ("channels-last + checkpoint stages 0–8", "cl,ckpt:0+1+2+3+4+5+6+7+8"),
    ];

    public static int Run(string[] args)
    {
        int size = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 224;
        int batch = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 32;
        int steps = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 3;
        Console.WriteLine($"B0 training steps at {size} px, batch {batch}: peak memory with glibc's default allocator; step time (mean of {steps} after one warm-up) with freed memory kept.");
        Console.WriteLine();
        Console.WriteLine("| configuration | peak RSS (MB) | activation memory (MB) | vs plain | step (s) | vs plain |");
        Console.WriteLine("|---|---|---|---|---|---|");
        Result? plain = null;
        foreach (var (name, flags) in Configurations)
        {
            var memory = RunChild(size, batch, 1, flags + ",no-keep");
            double seconds = Math.Min(RunChild(size, batch, steps, flags).StepSeconds, RunChild(size, batch, steps, flags).StepSeconds);
            var result = memory with { StepSeconds = seconds };
            plain ??= result;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {result.PeakMb:F0} | {result.ActivationMb:F0} | {result.ActivationMb / plain.ActivationMb - 1:+0%;-0%;0%} | {result.StepSeconds:F2} | {result.StepSeconds / plain.StepSeconds - 1:+0%;-0%;0%} |"));
        }
        return 0;
    }

    private sealed record Result(double PeakMb, double ActivationMb, double StepSeconds);

    private static Result RunChild(int size, int batch, int steps, string flags)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, RedirectStandardError = true };
        if (Environment.ProcessPath!.EndsWith("dotnet", StringComparison.Ordinal)) start.ArgumentList.Add(typeof(TrainingMemoryBenchmark).Assembly.Location);
        foreach (string a in new[] { ChildCommand, size.ToString(CultureInfo.InvariantCulture), batch.ToString(CultureInfo.InvariantCulture), steps.ToString(CultureInfo.InvariantCulture), flags })
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        string output = process.StandardOutput.ReadToEnd(), error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"Configuration '{flags}' failed: {error}");
        return JsonSerializer.Deserialize<Result>(output.Trim().Split('\n')[^1])!;
    }

    public static int Child(string[] args)
    {
        int size = int.Parse(args[0], CultureInfo.InvariantCulture), batch = int.Parse(args[1], CultureInfo.InvariantCulture), steps = int.Parse(args[2], CultureInfo.InvariantCulture);
        var flags = args.Length > 3 ? args[3].Split(',', StringSplitOptions.RemoveEmptyEntries) : [];
        bool channelsLast = flags.Contains("cl"), silu = flags.Contains("silu");
        var checkpoint = flags.FirstOrDefault(f => f.StartsWith("ckpt:", StringComparison.Ordinal))?[5..].Split('+').Select(int.Parse).ToHashSet() ?? [];
        set_num_threads(Environment.ProcessorCount);
        if (!flags.Contains("no-keep")) EfficientNet.Training.Training.TrainingRuntime.KeepFreedMemory(); // as the trainer does
        manual_seed(0);
        using var model = new EfficientNetModel(EfficientNetSpec.Create(EfficientNetVariant.B0, 10), activation: silu ? () => new MemoryEfficientSiLU() : null);
        model.CheckpointedStages = checkpoint;
        if (channelsLast) model.ToChannelsLast();
        model.train();
        var optimizer = new EfficientNet.Training.Optimizers.AdamW([new("all", model.named_parameters().Select(p => (p.name, p.parameter)).ToList(), 1, 0.05)]);
        var x = randn(batch, 3, size, size);
        if (channelsLast) x = EfficientNetModel.ChannelsLast(x);
        var y = randint(0, 10, [batch]);
        double baseline = ResidentMb("VmRSS");
        double total = 0;
        for (int step = 0; step <= steps; step++)
        {
            var clock = Stopwatch.StartNew();
            using (var scope = NewDisposeScope())
            {
                var loss = nn.functional.cross_entropy(model.forward(x), y);
                optimizer.ZeroGrad();
                loss.backward();
                optimizer.Step(1e-3);
            }
            if (step > 0) total += clock.Elapsed.TotalSeconds;
        }
        double peak = ResidentMb("VmHWM");
        Console.WriteLine(JsonSerializer.Serialize(new Result(peak, peak - baseline, total / steps)));
        return 0;
    }

    private static double ResidentMb(string field)
    {
        string line = File.ReadLines("/proc/self/status").First(l => l.StartsWith(field + ":", StringComparison.Ordinal));
        return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
    }
}
