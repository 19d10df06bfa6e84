using System.Globalization;

namespace Microsoft.ML.EfficientNet.IO;

/// <summary>
/// The layout of a training run's folder, the one place its file names are written down. The trainer writes it, the
/// checkpoint store keeps its <c>checkpoints/</c> sub-folder, and <c>efficientnet evaluate</c> reads its model:
/// <list type="bullet">
/// <item><c>model.onnx</c>: the exported model (preprocessing inside the graph, labels in its metadata).</item>
/// <item><c>model.safetensors</c>: the exported weights, canonical (torchvision) names.</item>
/// <item><c>best.safetensors</c>: the best weights so far, rewritten whenever validation accuracy improves.</item>
/// <item><c>labels.txt</c>: class names in label order, one a line.</item>
/// <item><c>training.json</c>: how the run ended and its per-epoch metrics.</item>
/// <item><c>checkpoints/</c>: one folder per checkpoint (<c>epoch-NNNN</c> after an epoch, <c>interrupted-eNNNN-bNNNNN</c>
/// when cancelled mid-epoch), each with <c>model.safetensors</c>, <c>ema.safetensors</c>, <c>optimizer.safetensors</c> and
/// <c>state.json</c>; <c>checkpoints/latest</c> names the last complete one.</item>
/// </list>
/// </summary>
internal sealed class RunFolder
{
    /// <summary>File name of the exported ONNX model: <c>model.onnx</c>.</summary>
    public const string ModelFileName = "model.onnx";

    /// <summary>File name of the exported weights: <c>model.safetensors</c> (also the model weights inside a checkpoint).</summary>
    public const string WeightsFileName = "model.safetensors";

    /// <summary>File name of the best weights so far: <c>best.safetensors</c>.</summary>
    public const string BestWeightsFileName = "best.safetensors";

    /// <summary>File name of the class names: <c>labels.txt</c>.</summary>
    public const string LabelsFileName = "labels.txt";

    /// <summary>File name of the run summary: <c>training.json</c>.</summary>
    public const string SummaryFileName = "training.json";

    /// <summary>Name of the checkpoints sub-folder: <c>checkpoints</c>.</summary>
    public const string CheckpointsFolderName = "checkpoints";

    /// <summary>File in the checkpoints folder naming the last complete checkpoint: <c>latest</c>.</summary>
    public const string LatestFileName = "latest";

    /// <summary>Inside a checkpoint: the exponential moving average of the weights, <c>ema.safetensors</c>.</summary>
    public const string CheckpointEmaFileName = "ema.safetensors";

    /// <summary>Inside a checkpoint: the optimiser's state tensors, <c>optimizer.safetensors</c>.</summary>
    public const string CheckpointOptimizerFileName = "optimizer.safetensors";

    /// <summary>Inside a checkpoint: the run's scalar state (epoch, step, history, random state), <c>state.json</c>.</summary>
    public const string CheckpointStateFileName = "state.json";

    /// <summary>Search pattern of the epoch checkpoints' folder names, <c>epoch-*</c>; these names sort in epoch order.</summary>
    public const string EpochCheckpointPattern = "epoch-*";

    /// <summary>Search pattern of the mid-epoch checkpoints' folder names, <c>interrupted-*</c>.</summary>
    public const string InterruptedCheckpointPattern = "interrupted-*";

    /// <summary>A run folder at <paramref name="path"/> (made absolute; nothing is created).</summary>
    /// <param name="path">The folder.</param>
    public RunFolder(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Root = Path.GetFullPath(path);
    }

    /// <summary>The folder, as an absolute path.</summary>
    public string Root { get; }

    /// <summary>The exported ONNX model, <c>model.onnx</c>.</summary>
    public string ModelPath => Path.Combine(Root, ModelFileName);

    /// <summary>The exported weights, <c>model.safetensors</c>.</summary>
    public string WeightsPath => Path.Combine(Root, WeightsFileName);

    /// <summary>The best weights so far, <c>best.safetensors</c>.</summary>
    public string BestWeightsPath => Path.Combine(Root, BestWeightsFileName);

    /// <summary>The class names, <c>labels.txt</c>.</summary>
    public string LabelsPath => Path.Combine(Root, LabelsFileName);

    /// <summary>The run summary, <c>training.json</c>.</summary>
    public string SummaryPath => Path.Combine(Root, SummaryFileName);

    /// <summary>The checkpoints folder, <c>checkpoints</c>.</summary>
    public string CheckpointsPath => Path.Combine(Root, CheckpointsFolderName);

    /// <summary>The file naming the last complete checkpoint, <c>checkpoints/latest</c>.</summary>
    public string LatestPath => Path.Combine(CheckpointsPath, LatestFileName);

    /// <summary>The folder of the checkpoint named <paramref name="name"/> (see <see cref="EpochCheckpointName"/>).</summary>
    /// <param name="name">The checkpoint's folder name.</param>
    public string CheckpointPath(string name) => Path.Combine(CheckpointsPath, name);

    /// <summary>Folder name of the checkpoint after <paramref name="epochsDone"/> complete epochs: <c>epoch-0003</c> for 3.</summary>
    /// <param name="epochsDone">Epochs completed (one-based number of the epoch just finished).</param>
    public static string EpochCheckpointName(int epochsDone) => string.Create(CultureInfo.InvariantCulture, $"epoch-{epochsDone:D4}");

    /// <summary>
    /// Folder name of a checkpoint taken when a run is cancelled mid-epoch: <c>interrupted-e0002-b00005</c> for the
    /// second epoch (one-based) after 5 of its steps.
    /// </summary>
    /// <param name="epoch">One-based epoch in progress.</param>
    /// <param name="stepsDone">Steps of that epoch already taken.</param>
    public static string InterruptedCheckpointName(int epoch, int stepsDone) =>
        string.Create(CultureInfo.InvariantCulture, $"interrupted-e{epoch:D4}-b{stepsDone:D5}");

    /// <summary>
    /// The model a user means by <paramref name="path"/>: a run folder's <c>model.onnx</c> when it is a folder, else the
    /// path itself (an <c>.onnx</c> file). Does not check that the file exists.
    /// </summary>
    /// <param name="path">A run folder or a model file.</param>
    public static string ModelPathOf(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Directory.Exists(path) ? Path.Combine(path, ModelFileName) : path;
    }
}
