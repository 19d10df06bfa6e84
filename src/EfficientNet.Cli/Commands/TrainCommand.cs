using System.CommandLine;
using System.Globalization;
using EfficientNet.Cli.Arguments;
using EfficientNet.Training.Optimizers;
using EfficientNet.Training.Reports;
using EfficientNet.Training.Training;
using Microsoft.Extensions.Logging;
using Microsoft.ML.EfficientNet.Data;
using Microsoft.ML.EfficientNet.IO;
using Microsoft.ML.EfficientNet.Preprocessing;
using Spectre.Console;

namespace EfficientNet.Cli.Commands;

/// <summary>
/// <c>efficientnet train</c>: fine-tune from the variant's ImageNet weights (or a checkpoint, or from scratch with
/// <c>--from-scratch</c>), with progress bars, Ctrl+C to stop and resume, and a warning when the model is at chance.
/// </summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var data = DataArguments.Data();
        var validation = DataArguments.Validation();
        var classes = DataArguments.Classes();
        var perClass = DataArguments.PerClass();
        var training = new TrainingArguments(EfficientNetTrainingOptions.Defaults.Epochs);
        var variant = new Option<string>("--variant") { Description = "b0 … b7, v2-s, v2-m, v2-l, lite0 … lite4.", DefaultValueFactory = _ => "b0" };
        var weights = new Option<string?>("--weights") { Description = "Starting weights: a checkpoint file (.pth, .safetensors). Default: the variant's torchvision ImageNet weights (cached; downloaded when missing)." };
        var fromScratch = new Option<bool>(FromScratchFlag) { Description = "Start from random weights instead of the ImageNet weights (needs far more images and epochs)." };
        var keep = new Option<string>("--keep") { DefaultValueFactory = _ => KeptName(EfficientNetTrainingOptions.Defaults.KeepModel), Description = "Weights exported: best (highest validation accuracy; a tie goes to lower validation loss, then the later epoch) or last." };
        var format = WeightsArguments.Format();
        var keepClassifier = new Option<bool>("--keep-classifier") { Description = "Keep the classifier of --weights (same classes); default: a new classifier." };
        var mode = new Option<string>("--mode") { DefaultValueFactory = _ => "full", Description = "full, linear-probe or last-stages." };
        var trainableStages = new Option<int>("--trainable-stages") { DefaultValueFactory = _ => EfficientNetTrainingOptions.Defaults.TrainableStages, Description = "For last-stages: feature units trained (1 = head conv)." }.Within(1, 9);
        var freezeBn = new Option<bool>("--freeze-bn") { Description = "Keep batch-norm statistics frozen (small batches)." };
        var backboneLr = new Option<double?>("--backbone-lr") { Description = "Peak learning rate of the backbone. Default: --lr from scratch, --lr/10 from weights." }.Within(0, double.PositiveInfinity);
        var optimizer = new Option<string>("--optimizer") { DefaultValueFactory = _ => OptimizerKinds.ToName(OptimizerKind.AdamW), Description = Choices.Alternatives(OptimizerKinds.Names) };
        var weightDecay = new Option<double>("--weight-decay") { DefaultValueFactory = _ => EfficientNetTrainingOptions.Defaults.WeightDecay, Description = "Weight decay." }.Within(0, double.PositiveInfinity);
        var decayAll = new Option<bool>("--decay-norm-and-bias") { Description = "Also decay batch-norm parameters and biases." };
        var smoothing = new Option<double>("--label-smoothing") { DefaultValueFactory = _ => EfficientNetTrainingOptions.Defaults.LabelSmoothing, Description = "Label smoothing." }.Within(0, 1, openMax: true);
        var clip = new Option<double?>("--clip-grad") { Description = "Clip the gradient norm to this value." }.Within(0, double.PositiveInfinity, openMin: true);
        var ema = new Option<double?>("--ema") { Description = "EMA decay of the weights (for example 0.999); the EMA is evaluated and exported." }.Within(0, 1, openMin: true, openMax: true);
        var patience = new Option<int?>("--early-stopping") { Description = "Stop after this many epochs without validation improvement." }.Within(1);
        var shift = new Option<int>("--shift") { DefaultValueFactory = _ => EfficientNetTrainingOptions.Defaults.ShiftPixels, Description = "Pixels of random shift for --augment shift." }.Within(0, PreprocessingRecipe.MaximumInputSize, "pixels");
        var valFraction = new Option<double>("--validation-fraction") { DefaultValueFactory = _ => EfficientNetTrainingOptions.Defaults.ValidationFraction, Description = "Share held out when --validation is not given." }.Within(0, 1, openMax: true);
        var device = new Option<string>("--device") { DefaultValueFactory = _ => "cpu", Description = "cpu, cuda or cuda:N." };
        var noChannelsLast = new Option<bool>("--no-channels-last") { Description = "Train with NCHW tensors instead of channels-last." };
        var efficientSilu = new Option<bool>("--memory-efficient-silu") { Description = "SiLU that recomputes the sigmoid in the backward pass." };
        var checkpointStages = new Option<string?>("--checkpoint-stages") { Description = "Feature units recomputed in the backward pass, for example 1,2,3 (0 stem … 8 head)." };
        var output = new Option<string>("--output", "-o") { Description = $"Run folder: {RunFolder.CheckpointsFolderName}, {RunFolder.ModelFileName}, {RunFolder.WeightsFileName}, {RunFolder.LabelsFileName}, {RunFolder.SummaryFileName}.", Required = true };
        var report = new Option<bool>("--report") { Description = "Also write training-curves.png and report.html into the run folder." };
        var exifOrientation = DataArguments.ApplyExifOrientation();
        var maxImagePixels = DataArguments.MaxImagePixels();
        var command = new Command("train", "Train or fine-tune an EfficientNet; Ctrl+C saves a checkpoint, running again resumes.")
        {
            data, validation, classes, perClass, variant, weights, fromScratch, format, keepClassifier, keep, training.Epochs, training.BatchSize, training.ImageSize, mode,
            trainableStages, freezeBn, training.LearningRate, backboneLr, optimizer, weightDecay, decayAll, training.Schedule, training.Warmup, smoothing, clip, ema, patience,
            training.Augment, shift, training.Mean, training.Std, training.CropFraction, valFraction, training.Seed, device, training.Threads, noChannelsLast, efficientSilu,
            checkpointStages, training.NoResume, output, report, exifOrientation, maxImagePixels,
        };
        command.SetAction(result =>
        {
            // Checked before the data is opened: a contradiction costs nothing to report.
            if (result.GetValue(fromScratch) && result.GetValue(weights) is { } file)
                throw new ArgumentException($"{FromScratchFlag} and --weights '{file}' contradict each other: give one (--weights to start from a checkpoint file, {FromScratchFlag} to start from random weights).");
            var shared = training.Read(result);
            // Before the data is listed: a run folder inside --data is never read as a class of images.
            OutputArguments.OwnedFolder(result.GetValue(output)!, "--output", result.GetValue(data), "--data");
            var train = DataArguments.Open(result.GetValue(data)!, result.GetValue(classes), result.GetValue(perClass));
            var val = result.GetValue(validation) is { } v ? DataArguments.Open(v, result.GetValue(classes), null) : null;
            if (val is not null && !val.Classes.SequenceEqual(train.Classes))
                throw new ArgumentException($"Validation classes [{string.Join(", ", val.Classes)}] differ from training classes [{string.Join(", ", train.Classes)}].");
            using var loggerFactory = LoggerFactory.Create(b => b.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; }).SetMinimumLevel(LogLevel.Information));
            var options = new EfficientNetTrainingOptions
            {
                Variant = result.GetValue(variant)!,
                InitialWeights = result.GetValue(fromScratch) ? null : result.GetValue(weights) ?? EfficientNetTrainingOptions.Defaults.InitialWeights,
                KeepModel = Choices.ParseEnum<KeptModel>(result.GetValue(keep)!, "--keep"),
                InitialWeightsFormat = WeightsArguments.ParseFormat(result.GetValue(format)),
                KeepClassifier = result.GetValue(keepClassifier),
                Epochs = shared.Epochs,
                ImageSize = shared.ImageSize,
                Mode = Choices.ParseEnum<TrainingMode>(result.GetValue(mode)!, "--mode"),
                TrainableStages = result.GetValue(trainableStages),
                FreezeBatchNorm = result.GetValue(freezeBn),
                BackboneLearningRate = result.GetValue(backboneLr),
                Optimizer = Choices.ParseName(result.GetValue(optimizer)!, "--optimizer", OptimizerKinds.Names, OptimizerKinds.Parse),
                WeightDecay = result.GetValue(weightDecay),
                DecayNormAndBias = result.GetValue(decayAll),
                LabelSmoothing = result.GetValue(smoothing),
                MaxGradNorm = result.GetValue(clip),
                EmaDecay = result.GetValue(ema),
                EarlyStoppingPatience = result.GetValue(patience),
                ShiftPixels = result.GetValue(shift),
                ValidationFraction = result.GetValue(valFraction),
                Seed = shared.Seed,
                Device = result.GetValue(device)!,
                Threads = shared.Threads,
                ChannelsLast = !result.GetValue(noChannelsLast),
                ApplyExifOrientation = result.GetValue(exifOrientation),
                MaxImagePixels = result.GetValue(maxImagePixels),
                MemoryEfficientSiLU = result.GetValue(efficientSilu),
                CheckpointStages = result.GetValue(checkpointStages) is { } s ? s.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(x => int.Parse(x, CultureInfo.InvariantCulture)).ToArray() : [],
                Resume = shared.Resume,
                OutputDirectory = result.GetValue(output),
                DataSource = DataArguments.Source(result.GetValue(data)!, result.GetValue(classes), result.GetValue(perClass)),
                Logger = loggerFactory.CreateLogger("efficientnet"),
            };
            shared.ApplyTo(options);

            using var cancel = new CancellationTokenSource();
            ConsoleCancelEventHandler onCancel = (_, e) =>
            {
                e.Cancel = true; // finish the step, save a checkpoint, then exit
                cancel.Cancel();
                Console.Error.WriteLine("Stopping after this step and saving a checkpoint…");
            };
            Console.CancelKeyPress += onCancel;
            try
            {
                AnsiConsole.MarkupLine($"Training [bold]{options.Variant}[/] {(options.InitialWeights is null ? "from scratch" : $"from {Markup.Escape(options.InitialWeights)} weights")} " +
                    $"on {train.Count:N0} images, {train.Classes.Count} classes" + (val is null ? "" : $"; validating on {val.Count:N0}"));
                var outcome = RunWithProgress(options, train, val, cancel.Token);
                OutputArguments.MarkOwned(outcome.OutputDirectory);
                PrintSummary(outcome);
                if (result.GetValue(report) && outcome.History.Count > 0)
                    AnsiConsole.WriteLine($"Report: {TrainingReport.Write(outcome, outcome.OutputDirectory).Html}");
                return outcome.Status switch
                {
                    TrainingStatus.Cancelled => ExitCodes.Cancelled,
                    TrainingStatus.Diverged => 2,
                    _ => 0,
                };
            }
            finally
            {
                Console.CancelKeyPress -= onCancel;
            }
        });
        return command;
    }

    private static TrainingResult RunWithProgress(EfficientNetTrainingOptions options, LabeledImageSet train, LabeledImageSet? val, CancellationToken token)
    {
        if (!AnsiConsole.Profile.Capabilities.Interactive)
        {
            // Redirected output (logs, CI): one line per epoch from the logger, no progress bars.
            return EfficientNetTrainer.Train(options, train, val, token);
        }
        TrainingResult? outcome = null;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                var overall = ctx.AddTask("run", maxValue: options.Epochs);
                ProgressTask? epochTask = null;
                options.Progress = e =>
                {
                    switch (e)
                    {
                        case StepCompleted s:
                            epochTask ??= ctx.AddTask($"epoch {s.Epoch + 1}", maxValue: s.StepsPerEpoch);
                            epochTask.Value = s.Step;
                            epochTask.Description = $"epoch {s.Epoch + 1} loss {s.MeanLoss:F3} acc {s.Accuracy:P1} lr {s.LearningRate:G2} {s.ImagesPerSecond:F0} img/s";
                            break;
                        case EpochCompleted c:
                            overall.Value = c.Epoch + 1;
                            overall.Description = $"run: val acc {c.Metrics.ValidationAccuracy:P2}{(c.IsBest ? " (best)" : "")}";
                            epochTask?.StopTask();
                            epochTask = null;
                            break;
                    }
                };
                outcome = EfficientNetTrainer.Train(options, train, val, token);
            });
        return outcome!;
    }

    private static void PrintSummary(TrainingResult outcome)
    {
        // Top-5 of five classes or fewer is always 100 %: the column is shown only when it measures something.
        bool top5 = outcome.History.Any(h => !double.IsNaN(h.ValidationTop5));
        var table = new Table().Border(TableBorder.Simple).AddColumns("epoch", "train loss", "train acc", "val loss", "val acc");
        if (top5) table.AddColumn("val top-5");
        table.AddColumns("lr", "s");
        var c = CultureInfo.InvariantCulture;
        // A run without a validation set has no validation metrics: a dash, not NaN.
        static string Metric(double value, string format) => double.IsNaN(value) ? "–" : value.ToString(format, CultureInfo.InvariantCulture);
        foreach (var h in outcome.History)
        {
            var cells = new List<string> { (h.Epoch + 1).ToString(c), Metric(h.TrainLoss, "F4"), Metric(h.TrainAccuracy, "P2"), Metric(h.ValidationLoss, "F4"), Metric(h.ValidationAccuracy, "P2") };
            if (top5) cells.Add(Metric(h.ValidationTop5, "P2"));
            cells.Add(h.LearningRate.ToString("G3", c));
            cells.Add(h.Seconds.ToString("F0", c));
            table.AddRow(cells.ToArray());
        }
        AnsiConsole.Write(table);
        AnsiConsole.WriteLine(outcome.Message);
        if (outcome.OnnxPath is not null) AnsiConsole.WriteLine($"Model: {outcome.OnnxPath} (weights {outcome.WeightsPath})");
        if (outcome.Chance is { Count: > 0 } chance)
            Sentence(string.Create(c, $"Exported model (epoch {outcome.KeptEpoch + 1}): validation accuracy {100 * chance.Accuracy:0.00} % " +
                $"(95 % interval {100 * chance.Low:0.00}–{100 * chance.High:0.00} %, {chance.Count} images); majority-class rate {100 * chance.ChanceAccuracy:0.00} %."), null);
        // The last thing printed, so it is not lost above the table.
        if (outcome.ChanceWarning is { } warning) Sentence("Warning: " + warning, "yellow");
    }

    /// <summary>
    /// One sentence on one line: in colour on a terminal, unwrapped when the output is redirected (Spectre.Console would
    /// break it at 80 columns, and a log or a script reads lines).
    /// </summary>
    private static void Sentence(string text, string? colour)
    {
        if (Console.IsOutputRedirected) Console.Out.WriteLine(text);
        else if (colour is null) AnsiConsole.WriteLine(text);
        else AnsiConsole.MarkupLine($"[{colour}]{Markup.Escape(text)}[/]");
    }

    /// <summary>The flag that trains from random weights; named in errors.</summary>
    internal const string FromScratchFlag = "--from-scratch";

    private static string KeptName(KeptModel keep) => keep.ToString().ToLowerInvariant();
}
