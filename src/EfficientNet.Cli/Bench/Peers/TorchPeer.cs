using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace EfficientNet.Cli.Bench.Peers;

/// <summary>
/// The PyTorch side of <c>efficientnet bench</c>, when Debian's <c>python3-torch</c> and <c>python3-torchvision</c> are
/// present: torchvision's model of the variant, exported by <c>torch.onnx.export</c> (opset 17, batch norm folded by
/// constant folding, dynamic batch, normalised input: a <c>--bare</c>-style file), and PyTorch eager throughput with
/// <c>torch.set_num_threads(cores)</c>; the state dict is saved too, for our export of the same weights. Run as a child process: this project has no Python binding, and the peer must be
/// PyTorch itself.
/// </summary>
internal static class TorchPeer
{
    /// <summary>PyTorch eager's rows.</summary>
    public const string EagerGroup = "PyTorch eager, random input";

    /// <summary>PyTorch eager, one setting.</summary>
    public sealed record EagerRow(int BatchSize, int Threads, double ImagesPerSecond);

    // The weights are torchvision's seeded initialisation, saved beside the ONNX file (ONNX path + ".pth") so that our
    // export scores the very same weights: random weights can drive activations into denormal floats, which slows every
    // kernel, so two graphs are only compared on one set of weights.
    private const string Script = """
        import json, sys, time, torch, torchvision
        variant, resolution, out, cores, images = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
        torch.manual_seed(0)
        model = getattr(torchvision.models, "efficientnet_" + variant)().eval()
        # Batch-norm statistics, affine parameters and biases spread as a trained model's are: at torchvision's
        # initialisation they are zeros and ones, and torch.onnx.export would share the identical tensors between layers.
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, torch.nn.BatchNorm2d):
                    m.weight.uniform_(0.5, 1.5); m.bias.normal_(0, 0.1); m.running_mean.normal_(0, 0.1); m.running_var.uniform_(0.5, 1.5)
                elif isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)) and m.bias is not None:
                    m.bias.normal_(0, 0.1)
        torch.save(model.state_dict(), out + ".pth")
        torch.onnx.export(model, torch.randn(2, 3, resolution, resolution), out, input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, opset_version=17, do_constant_folding=True)
        torch.set_num_threads(cores)
        rows = []
        with torch.inference_mode():
            for batch in (8, 32):
                x = torch.randn(batch, 3, resolution, resolution)
                model(x)
                best = 0.0
                for _ in range(3):
                    start, done = time.perf_counter(), 0
                    while done < images:
                        model(x)
                        done += batch
                    best = max(best, done / (time.perf_counter() - start))
                rows.append({"batch": batch, "threads": cores, "ips": best})
        print(json.dumps({"torch": torch.__version__, "torchvision": torchvision.__version__, "eager": rows}))
        """;

    /// <summary>Debian's interpreter, which has python3-torch; a pyenv <c>python3</c> on PATH usually has not.</summary>
    private static readonly string[] Interpreters = ["/usr/bin/python3", "python3"];

    /// <summary>
    /// Exports torchvision's <paramref name="variant"/> at <paramref name="resolution"/> to <paramref name="onnxPath"/>
    /// and measures PyTorch eager on about <paramref name="images"/> images per pass. Returns null with the reason when
    /// PyTorch is not available.
    /// </summary>
    public static (string Versions, List<EagerRow> Eager)? Run(string variant, int resolution, string onnxPath, int images, out string? unavailable)
    {
        string script = Path.Combine(Path.GetDirectoryName(onnxPath)!, "torch_peer.py");
        File.WriteAllText(script, Script);
        unavailable = null;
        foreach (string python in Interpreters)
        {
            var start = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (string a in new[] { script, variant, resolution.ToString(CultureInfo.InvariantCulture), onnxPath,
                         Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture), images.ToString(CultureInfo.InvariantCulture) })
                start.ArgumentList.Add(a);
            Process process;
            try
            {
                process = Process.Start(start)!;
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                unavailable = $"{python}: {e.Message}";
                continue;
            }
            using (process)
            {
                var error = process.StandardError.ReadToEndAsync();
                string output = process.StandardOutput.ReadToEnd();
                process.WaitForExit();
                if (process.ExitCode != 0 || !File.Exists(onnxPath))
                {
                    string last = error.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? $"exit {process.ExitCode}";
                    unavailable = $"{python}: {last.Trim()}";
                    continue;
                }
                using var json = JsonDocument.Parse(output.Trim().Split('\n').Last());
                var root = json.RootElement;
                var rows = root.GetProperty("eager").EnumerateArray()
                    .Select(r => new EagerRow(r.GetProperty("batch").GetInt32(), r.GetProperty("threads").GetInt32(), r.GetProperty("ips").GetDouble())).ToList();
                return ($"PyTorch {root.GetProperty("torch").GetString()}, torchvision {root.GetProperty("torchvision").GetString()}", rows);
            }
        }
        return null;
    }
}
