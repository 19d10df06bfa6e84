using System.Diagnostics;
using EfficientNet.Training.Modules;
using EfficientNet.Training.Optimizers;
using EfficientNet.Training.Weights;
using Microsoft.Extensions.Logging;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Data;
using Microsoft.ML.EfficientNet.Evaluation;
using Microsoft.ML.EfficientNet.IO;
using Microsoft.ML.EfficientNet.Onnx;
using Microsoft.ML.EfficientNet.Preprocessing;
using Microsoft.ML.EfficientNet.Weights;
using TorchSharp;
using static TorchSharp.torch;
using EfficientNet.Training.Data;

namespace EfficientNet.Training.Training;

/// <summary>
/// Trains or fine-tunes an EfficientNet with TorchSharp: streaming augmented batches, parameter groups with their own
/// learning rates and weight decay, a schedule, label smoothing, gradient clipping, an EMA of the weights, early
/// stopping, and a checkpoint after every epoch from which an interrupted run resumes exactly. The result is exported
/// as ONNX (preprocessing and labels inside) and canonical safetensors.
/// </summary>
internal static class EfficientNetTrainer
{
    /// <summary>Runs training.</summary>
    /// <param name="options">What to train and how.</param>
    /// <param name="train">Training images.</param>
    /// <param name="validation">Validation images; default null: a seeded split of <paramref name="train"/> (<see cref="EfficientNetTrainingOptions.ValidationFraction"/>).</param>
    /// <param name="cancellationToken">Stops at the next step, saving a checkpoint that a later run resumes from.</param>
    public static TrainingResult Train(EfficientNetTrainingOptions options, LabeledImageSet train, LabeledImageSet? validation = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(train);
        var device = TrainingEnvironment.Prepare(options);
        options.Validate();
        if (validation is null && options.ValidationFraction > 0) (train, validation) = train.Split(options.ValidationFraction, options.Seed);
        if (validation is { Count: 0 }) validation = null;
        var run = new Run(options, train, validation, device);
        try
        {
            return run.Execute(cancellationToken);
        }
        finally
        {
            run.Dispose();
        }
    }

    /// <summary>
    /// Trainable parameters in four groups: backbone and classifier, each with and without weight decay (batch-norm
    /// parameters and biases are not decayed unless <see cref="EfficientNetTrainingOptions.DecayNormAndBias"/>). The
    /// backbone's learning-rate scale is its rate over the classifier's.
    /// </summary>
    internal static List<ParameterGroup> ParameterGroups(EfficientNetModel model, EfficientNetTrainingOptions o, bool fromTrainedWeights)
    {
        double backboneLr = o.BackboneLearningRate ?? (fromTrainedWeights ? o.LearningRate * EfficientNetTrainingOptions.Defaults.PretrainedBackboneLearningRateFactor : o.LearningRate);
        var trainable = model.named_parameters().Where(p => p.parameter.requires_grad).ToList();
        bool Decays((string name, TorchSharp.Modules.Parameter parameter) p) => o.DecayNormAndBias || p.parameter.dim() > 1;
        bool IsHead((string name, TorchSharp.Modules.Parameter parameter) p) => p.name.StartsWith("classifier.", StringComparison.Ordinal);
        var groups = new List<ParameterGroup>();
        void Add(string name, Func<(string name, TorchSharp.Modules.Parameter parameter), bool> select, double scale, double decay)
        {
            var members = trainable.Where(select).Select(p => (p.name, p.parameter)).ToList();
            if (members.Count > 0) groups.Add(new ParameterGroup(name, members, scale, decay));
        }
        Add("backbone", p => !IsHead(p) && Decays(p), backboneLr / o.LearningRate, o.WeightDecay);
        Add("backbone (no decay)", p => !IsHead(p) && !Decays(p), backboneLr / o.LearningRate, 0);
        Add("head", p => IsHead(p) && Decays(p), 1, o.WeightDecay);
        Add("head (no decay)", p => IsHead(p) && !Decays(p), 1, 0);
        return groups;
    }

    private static string KeptName(KeptModel keep) => keep.ToString().ToLowerInvariant();

    /// <summary>
    /// Whether <paramref name="epoch"/> beats <paramref name="best"/> (null: nothing yet) as the model to keep: higher
    /// validation accuracy; at equal accuracy, lower validation loss; at equal loss too, the later epoch (later in
    /// training, so at a lower learning rate, with batch-norm statistics from more steps).
    /// </summary>
    internal static bool Outranks(EpochMetrics epoch, EpochMetrics? best)
    {
        ArgumentNullException.ThrowIfNull(epoch);
        if (best is null) return true;
        if (epoch.ValidationAccuracy != best.ValidationAccuracy) return epoch.ValidationAccuracy > best.ValidationAccuracy;
        // A NaN loss ranks below any finite one.
        double loss = double.IsNaN(epoch.ValidationLoss) ? double.PositiveInfinity : epoch.ValidationLoss;
        double bestLoss = double.IsNaN(best.ValidationLoss) ? double.PositiveInfinity : best.ValidationLoss;
        if (loss != bestLoss) return loss < bestLoss;
        return epoch.Epoch > best.Epoch;
    }

    /// <summary>
    /// One run's state; <see cref="Execute"/> is the loop and each phase is a method or a part of its own:
    /// <see cref="TrainingEnvironment"/> (device, threads, seed), <see cref="ExponentialMovingAverage"/>,
    /// <see cref="RunFolder"/> (file names), <see cref="CheckpointStore"/>, <see cref="EpochResult"/> (one pass) and
    /// <see cref="RunExport"/> (the model files and <c>training.json</c>).
    /// </summary>
    private sealed class Run : IDisposable
    {
        private readonly EfficientNetTrainingOptions _o;
        private readonly LabeledImageSet _train;
        private readonly LabeledImageSet? _validation;
        private readonly Device _device;
        private readonly ILogger? _log;
        private readonly EfficientNetModel _model;
        private readonly ExponentialMovingAverage? _ema;
        private readonly Optimizer _optimizer;
        private readonly LearningRateSchedule _schedule;
        private readonly TrainingBatches _batches;
        private readonly ImageDecoder _decoder;
        private readonly PreprocessingRecipe _recipe;
        private readonly RunFolder _folder;
        private readonly CheckpointStore _store;
        private readonly int _imageSize;
        private readonly int _frozenUnits;
        private readonly long _totalSteps;

        public Run(EfficientNetTrainingOptions options, LabeledImageSet train, LabeledImageSet? validation, Device device)
        {
            _o = options;
            _train = train;
            _validation = validation;
            _device = device;
            _log = options.Logger;

            var variant = options.Variant;
            int classes = train.Classes.Count;
            var spec = EfficientNetSpec.Create(variant, classes, options.StochasticDepthRate ?? EfficientNetBaseline.StochasticDepthRate);
            ActivationFactory? activation = options.MemoryEfficientSiLU ? () => new MemoryEfficientSiLU() : null;
            var initial = InitialWeights(options, variant, classes);
            var source = initial?.Source ?? WeightSource.For(WeightFormat.TorchVision, variant);
            _model = new EfficientNetModel(spec, source, activation);
            if (initial is not null)
            {
                // A new task gets a new classifier (the model's own fresh initialisation) unless asked to keep it.
                var weights = options.KeepClassifier ? initial.Weights
                    : new StateDict(initial.Weights.Entries.Where(e => !e.Key.StartsWith("classifier.", StringComparison.Ordinal)), initial.Origin);
                ModelWeights.Load(_model, weights);
                if (!options.KeepClassifier) _model.ResetClassifierForTransfer();
            }
            _recipe = TrainingRecipe.Choose(options, initial, variant, _log);
            _imageSize = _recipe.CropSize;

            _model.CheckpointedStages = options.CheckpointStages.ToHashSet();
            _frozenUnits = options.Mode switch
            {
                TrainingMode.LinearProbe => spec.Stages.Count + 2,
                TrainingMode.LastStages => spec.Stages.Count + 2 - options.TrainableStages,
                _ => 0,
            };
            for (int unit = 0; unit < _frozenUnits; unit++)
                foreach (var p in ((nn.Module)_model.Features[unit]).parameters()) p.requires_grad = false;
            if (options.ChannelsLast) _model.ToChannelsLast();
            _model.to(_device);
            // Built after the model is final: its fresh weights draw from the same seeded generator, then copy the model.
            if (options.EmaDecay is { } decay)
                _ema = new ExponentialMovingAverage(_model, new EfficientNetModel(spec, source, activation), decay, options.ChannelsLast, _device);

            _optimizer = Optimizer.Create(options.Optimizer, ParameterGroups(_model, options, initial is not null));
            // One decoder for the run, training and validation: its orientation warning is logged once.
            _decoder = new ImageDecoder(options.ApplyExifOrientation, options.MaxImagePixels, _log);
            _batches = new TrainingBatches(train, Augmentation(), options.BatchSize, options.Seed, options.DataWorkers, logger: _log, decoder: _decoder);
            _totalSteps = (long)options.Epochs * _batches.BatchesPerEpoch;
            _schedule = new LearningRateSchedule(options.Schedule, options.LearningRate, _totalSteps, options.WarmupFraction);
            _folder = new RunFolder(options.OutputDirectory ?? Path.Combine(Path.GetTempPath(), "efficientnet-train-" + DateTime.UtcNow.ToString("yyyyMMdd-HHmmss")));
            Directory.CreateDirectory(_folder.Root);
            _store = new CheckpointStore(_folder, Math.Max(1, options.KeepCheckpoints), TrainingRecipe.Metadata(spec, source, _recipe, train.Classes));
        }

        /// <summary>The model validated and exported: the average when there is one.</summary>
        private EfficientNetModel Evaluated => _ema?.Model ?? _model;

        public TrainingResult Execute(CancellationToken cancellationToken)
        {
            var state = ResumeOrStart();
            var history = state.History.ToList();
            var clock = Stopwatch.StartNew();
            long stepsDoneAtStart = state.GlobalStep;
            TrainingStatus status = TrainingStatus.Completed;
            string message = "";
            for (int epoch = state.Epoch; epoch < _o.Epochs; epoch++)
            {
                var epochClock = Stopwatch.StartNew();
                var pass = TrainEpoch(epoch, state, history, epochClock, cancellationToken);
                if (pass.Stop is { } stop)
                {
                    (status, message) = (stop, pass.Message!);
                    break;
                }
                state = CompleteEpoch(pass, state, history, epochClock, clock, stepsDoneAtStart);
                if (EarlyStopping(epoch, state) is { } reason)
                {
                    (status, message) = (TrainingStatus.EarlyStopped, reason);
                    break;
                }
            }
            if (status == TrainingStatus.Completed)
                message = _validation is null ? $"Trained {_o.Epochs} epochs." : $"Trained {_o.Epochs} epochs; best validation accuracy {state.BestAccuracy:P2} at epoch {state.BestEpoch + 1}.";
            if (_o.KeepModel == KeptModel.Last && state.KeptEpoch >= 0 && state.KeptEpoch != state.BestEpoch)
                message += $" Exported the last epoch, {state.KeptEpoch + 1} (keep last).";
            return Export(status, message, state, history);
        }

        /// <summary>The state to start from: the last complete checkpoint when resuming (checked to be for this run), else a fresh one.</summary>
        private RunState ResumeOrStart()
        {
            var state = new RunState { Variant = _model.Spec.Variant.Name, Classes = _train.Classes, ImageSize = _imageSize, KeepModel = _o.KeepModel };
            if (!_o.Resume || _store.Latest() is not { } latest) return state;
            var saved = CheckpointStore.Load(latest, _model, _ema?.Model, _optimizer);
            if (saved.Variant != state.Variant || !saved.Classes.SequenceEqual(state.Classes) || saved.ImageSize != _imageSize)
                throw new InvalidOperationException($"The checkpoint in {latest} is for {saved.Variant} at {saved.ImageSize} px with classes " +
                    $"[{string.Join(", ", saved.Classes)}], not {state.Variant} at {_imageSize} px with [{string.Join(", ", state.Classes)}]. " +
                    "Use another output folder or turn resuming off.");
            // The kept weights of the epochs already done were chosen by the checkpoint's rule; another rule cannot be applied to them.
            if (saved.KeepModel != _o.KeepModel)
                throw new InvalidOperationException($"The run in {_folder.Root} keeps the {KeptName(saved.KeepModel)} epoch's weights, not the {KeptName(_o.KeepModel)} " +
                    $"(KeepModel, --keep {KeptName(_o.KeepModel)}). Resume with --keep {KeptName(saved.KeepModel)}, or use another output folder or turn resuming off.");
            if (saved.KeptEpoch < 0) saved = saved with { KeptEpoch = saved.BestEpoch };
            CheckpointStore.RestoreRandomState(saved.RandomState);
            _log?.LogInformation("Resuming from {Checkpoint}: epoch {Epoch}, batch {Batch}", latest, saved.Epoch + 1, saved.BatchInEpoch);
            return saved;
        }

        /// <summary>
        /// The steps of one epoch (from the checkpoint's step when resuming into it). Stops early when cancelled (saving
        /// a checkpoint of the last step) or when the loss is not finite.
        /// </summary>
        private EpochResult TrainEpoch(int epoch, RunState state, List<EpochMetrics> history, Stopwatch epochClock, CancellationToken cancellationToken)
        {
            SetTrainingMode();
            double lossSum = 0;
            long correct = 0, seen = 0;
            int batchIndex = epoch == state.Epoch ? state.BatchInEpoch : 0;
            long globalStep = state.GlobalStep;
            double lr = _schedule.At(Math.Min(globalStep, _totalSteps - 1)).LearningRate;
            foreach (var batch in _batches.Epoch(epoch, batchIndex, cancellationToken))
            {
                if (cancellationToken.IsCancellationRequested)
                    return new(epoch, lossSum, correct, seen, batchIndex, globalStep, lr, TrainingStatus.Cancelled, SaveInterrupted(epoch, batchIndex, globalStep, state, history));
                (double momentumLr, double? momentum) = _schedule.At(globalStep);
                lr = momentumLr;
                var (loss, hits) = Step(batch, lr, momentum);
                if (!double.IsFinite(loss))
                {
                    string message = $"The loss became {loss} at epoch {epoch + 1}, step {batchIndex + 1} (learning rate {lr:G3}). Training stopped; " +
                        $"the last good checkpoint is {_store.Latest() ?? "none (no epoch completed)"}. Lower the learning rate or set MaxGradNorm.";
                    _log?.LogError("{Message}", message);
                    return new(epoch, lossSum, correct, seen, batchIndex, globalStep, lr, TrainingStatus.Diverged, message);
                }
                globalStep++;
                batchIndex++;
                lossSum += loss * batch.Count;
                correct += hits;
                seen += batch.Count;
                double rate = seen / Math.Max(1e-9, epochClock.Elapsed.TotalSeconds);
                var eta = TimeSpan.FromSeconds((_totalSteps - globalStep) * _o.BatchSize / Math.Max(rate, 1e-9));
                _o.Progress?.Invoke(new StepCompleted(epoch, batchIndex, _batches.BatchesPerEpoch, globalStep, loss, correct / (double)seen, lr, rate, eta) { MeanLoss = lossSum / seen });
                if (_o.LogEverySteps > 0 && batchIndex % _o.LogEverySteps == 0)
                    _log?.LogDebug("epoch {Epoch} step {Step}/{Steps} batch loss {Loss:F4} epoch mean {MeanLoss:F4} lr {Lr:G3} {Rate:F1} img/s",
                        epoch + 1, batchIndex, _batches.BatchesPerEpoch, loss, lossSum / seen, lr, rate);
            }
            // Cancelled before the loader delivered a batch (between epochs, or while it was stopping).
            if (cancellationToken.IsCancellationRequested)
                return new(epoch, lossSum, correct, seen, batchIndex, globalStep, lr, TrainingStatus.Cancelled, SaveInterrupted(epoch, batchIndex, globalStep, state, history));
            return new(epoch, lossSum, correct, seen, batchIndex, globalStep, lr);
        }

        /// <summary>Saves a mid-epoch checkpoint that a later run resumes from; returns the message for people.</summary>
        private string SaveInterrupted(int epoch, int batchIndex, long globalStep, RunState state, List<EpochMetrics> history)
        {
            string where = _store.Save(RunFolder.InterruptedCheckpointName(epoch + 1, batchIndex), _model, _ema?.Model, _optimizer,
                state with { Epoch = epoch, BatchInEpoch = batchIndex, GlobalStep = globalStep, History = history, RandomState = CheckpointStore.SaveRandomState() });
            return $"Cancelled at epoch {epoch + 1}, step {batchIndex}. Saved {where}; run again with the same output folder to resume.";
        }

        /// <summary>After a complete pass: validates, records the metrics, keeps the chosen weights, saves the epoch checkpoint and reports.</summary>
        private RunState CompleteEpoch(EpochResult pass, RunState state, List<EpochMetrics> history, Stopwatch epochClock, Stopwatch clock, long stepsDoneAtStart)
        {
            int epoch = pass.Epoch;
            var validation = Evaluate();
            double accuracy = validation?.Accuracy ?? double.NaN;
            // Top-5 of five classes or fewer is always 100 %: not a measurement.
            var metrics = new EpochMetrics(epoch, pass.MeanLoss, pass.Accuracy, validation?.MeanLoss ?? double.NaN, accuracy,
                validation is { Classes: > 5 } ? validation.Top5Accuracy : double.NaN, pass.LearningRate, epochClock.Elapsed.TotalSeconds)
            { Chance = validation?.Chance() };
            var best = history.FirstOrDefault(h => h.Epoch == state.BestEpoch);
            history.Add(metrics);
            bool isBest = validation is null || Outranks(metrics, best);
            bool kept = isBest || _o.KeepModel == KeptModel.Last;
            state = state with
            {
                Epoch = epoch + 1,
                BatchInEpoch = 0,
                GlobalStep = pass.GlobalStep,
                History = history,
                BestAccuracy = isBest && validation is not null ? accuracy : state.BestAccuracy,
                BestEpoch = isBest ? epoch : state.BestEpoch,
                KeptEpoch = kept ? epoch : state.KeptEpoch,
                // Early stopping waits for a higher accuracy: a tie won on the loss is not progress.
                EpochsWithoutImprovement = validation is null || accuracy > state.BestAccuracy ? 0 : state.EpochsWithoutImprovement + 1,
            };
            if (kept) _store.SaveBest(Evaluated);
            state = state with { RandomState = CheckpointStore.SaveRandomState() };
            string checkpoint = _store.Save(RunFolder.EpochCheckpointName(epoch + 1), _model, _ema?.Model, _optimizer, state);
            var elapsed = clock.Elapsed;
            double perStep = elapsed.TotalSeconds / Math.Max(1, pass.GlobalStep - stepsDoneAtStart);
            var remaining = TimeSpan.FromSeconds(perStep * (_totalSteps - pass.GlobalStep));
            _o.Progress?.Invoke(new EpochCompleted(epoch, _o.Epochs, metrics, elapsed, remaining, checkpoint, isBest));
            if (double.IsNaN(metrics.ValidationAccuracy)) // no validation images: nothing to report but training
                _log?.LogInformation("epoch {Epoch}/{Epochs}: train loss {TrainLoss:F4} acc {TrainAcc:P2}; {Seconds:F0} s",
                    epoch + 1, _o.Epochs, metrics.TrainLoss, metrics.TrainAccuracy, metrics.Seconds);
            else if (double.IsNaN(metrics.ValidationTop5))
                _log?.LogInformation("epoch {Epoch}/{Epochs}: train loss {TrainLoss:F4} acc {TrainAcc:P2}; validation loss {ValLoss:F4} acc {ValAcc:P2} (majority class {Chance:P2}); {Seconds:F0} s",
                    epoch + 1, _o.Epochs, metrics.TrainLoss, metrics.TrainAccuracy, metrics.ValidationLoss, metrics.ValidationAccuracy, metrics.Chance!.ChanceAccuracy, metrics.Seconds);
            else
                _log?.LogInformation("epoch {Epoch}/{Epochs}: train loss {TrainLoss:F4} acc {TrainAcc:P2}; validation loss {ValLoss:F4} acc {ValAcc:P2} (majority class {Chance:P2}) top-5 {Top5:P2}; {Seconds:F0} s",
                    epoch + 1, _o.Epochs, metrics.TrainLoss, metrics.TrainAccuracy, metrics.ValidationLoss, metrics.ValidationAccuracy, metrics.Chance!.ChanceAccuracy, metrics.ValidationTop5, metrics.Seconds);
            if (metrics.Chance?.Warning(_train.Classes, LikelyCause(epoch + 1)) is { } warning)
                _log?.LogWarning("epoch {Epoch}/{Epochs}: {Warning}", epoch + 1, _o.Epochs, warning);
            return state;
        }

        /// <summary>Why the run stops after <paramref name="epoch"/> for lack of improvement, or null to go on.</summary>
        private string? EarlyStopping(int epoch, RunState state) =>
            _o.EarlyStoppingPatience is { } patience && state.EpochsWithoutImprovement >= patience && epoch + 1 < _o.Epochs
                ? $"Validation accuracy did not improve for {patience} epochs; stopped after epoch {epoch + 1}. Best {state.BestAccuracy:P2} at epoch {state.BestEpoch + 1}."
                : null;

        private (double Loss, long Correct) Step(ImageBatch batch, double learningRate, double? momentum)
        {
            using var scope = NewDisposeScope();
            var x = ToInput(batch);
            var y = tensor(batch.Labels.AsSpan(0, batch.Count).ToArray(), device: _device);
            var logits = _model.forward(x);
            var loss = nn.functional.cross_entropy(logits, y, label_smoothing: _o.LabelSmoothing);
            double value = loss.item<float>();
            if (!double.IsFinite(value)) return (value, 0);
            _optimizer.ZeroGrad();
            loss.backward();
            if (_o.MaxGradNorm is { } maxNorm) nn.utils.clip_grad_norm_(_optimizer.Groups.SelectMany(g => g.Parameters.Select(p => p.Parameter)), maxNorm);
            _optimizer.Step(learningRate, momentum);
            _ema?.Update(_optimizer.StepCount);
            long correct;
            using (no_grad()) correct = logits.argmax(1).eq(y).sum().item<long>();
            return (value, correct);
        }

        private Tensor ToInput(ImageBatch batch)
        {
            int n = batch.Count, s = batch.Size;
            var values = batch.Pixels.AsSpan(0, n * 3 * s * s).ToArray();
            if (batch.ChannelsLast)
            {
                var nhwc = tensor(values, [n, s, s, 3], device: _device).permute(0, 3, 1, 2);
                return _o.ChannelsLast ? nhwc : nhwc.contiguous();
            }
            var nchw = tensor(values, [n, 3, s, s], device: _device);
            return _o.ChannelsLast ? EfficientNetModel.ChannelsLast(nchw) : nchw;
        }

        private ClassificationMetrics? Evaluate()
        {
            if (_validation is null) return null;
            var model = Evaluated;
            model.eval();
            var metrics = new ClassificationMetrics(_train.Classes.Count);
            using (no_grad())
            {
                foreach (var batch in new EvaluationBatches(_validation, _recipe, Math.Max(_o.BatchSize, 64), _log, decoder: _decoder).All())
                {
                    using var scope = NewDisposeScope();
                    var logits = model.forward(ToInput(batch)).cpu();
                    metrics.Add(logits.data<float>().ToArray(), batch.Labels.AsSpan(0, batch.Count));
                }
            }
            return metrics;
        }

        private void SetTrainingMode()
        {
            _model.train();
            // Frozen units keep their batch-norm statistics and skip stochastic depth.
            for (int unit = 0; unit < _frozenUnits; unit++) ((nn.Module)_model.Features[unit]).eval();
            if (_o.FreezeBatchNorm)
                foreach (var norm in _model.modules().OfType<Modules.BatchNorm2d>()) norm.eval();
        }

        private TrainAugmentation Augmentation() => _o.Augmentation switch
        {
            AugmentationPreset.Standard => new TrainAugmentation { OutputSize = _imageSize, Mean = _recipe.Mean, Std = _recipe.Std, CropScale = (0.08, 1.0) },
            AugmentationPreset.Light => new TrainAugmentation { OutputSize = _imageSize, Mean = _recipe.Mean, Std = _recipe.Std, CropScale = (0.25, 1.0) },
            AugmentationPreset.Shift => new TrainAugmentation { OutputSize = _imageSize, Mean = _recipe.Mean, Std = _recipe.Std, CropScale = null, ShiftPixels = _o.ShiftPixels },
            _ => new TrainAugmentation { OutputSize = _imageSize, Mean = _recipe.Mean, Std = _recipe.Std, CropScale = null, HorizontalFlip = false },
        };

        /// <summary>Exports the kept weights when an epoch completed, judges them against chance, and writes the summary (<see cref="RunExport"/>).</summary>
        private TrainingResult Export(TrainingStatus status, string message, RunState state, List<EpochMetrics> history)
        {
            var (onnx, weights, checkpoint) = RunExport.ExportBest(_folder, _model.Spec, _model.Source, _recipe, _train.Classes);
            var chance = history.FirstOrDefault(h => h.Epoch == state.KeptEpoch)?.Chance;
            string? warning = chance?.Warning(_train.Classes, LikelyCause(history.Count));
            if (warning is not null) _log?.LogWarning("The exported model (epoch {Epoch}): {Warning}", state.KeptEpoch + 1, warning);
            var result = new TrainingResult
            {
                Status = status,
                Message = message,
                History = history,
                BestEpoch = state.BestEpoch,
                BestAccuracy = _validation is null ? double.NaN : state.BestAccuracy,
                KeptEpoch = onnx is null ? -1 : state.KeptEpoch,
                Chance = onnx is null ? null : chance,
                ChanceWarning = onnx is null ? null : warning,
                Classes = _train.Classes,
                Recipe = _recipe,
                OutputDirectory = _folder.Root,
                OnnxPath = onnx,
                WeightsPath = weights,
                Weights = checkpoint,
            };
            RunExport.WriteSummary(_folder.SummaryPath, result, _model.Spec.Variant.Name, _imageSize, _train.Count, _validation?.Count ?? 0,
                _o.InitialWeights, _o.KeepModel, _o.DataSource);
            return result;
        }

        /// <summary>
        /// Why a model may sit at chance, from what this run knows: training from scratch on few images, few epochs, the
        /// learning rate.
        /// </summary>
        /// <param name="epochs">Epochs completed.</param>
        private string LikelyCause(int epochs)
        {
            var c = System.Globalization.CultureInfo.InvariantCulture;
            string data = _o.InitialWeights is null
                ? string.Create(c, $"training from scratch on {_train.Count:N0} images (without pretrained weights, {_model.Spec.ParameterCount / 1e6:0.0} M parameters need far more)")
                : string.Create(c, $"fine-tuning on {_train.Count:N0} images");
            return string.Create(c, $"{data}, {epochs} epoch{(epochs == 1 ? "" : "s")}, learning rate {_o.LearningRate:G3}");
        }

        private static EfficientNetCheckpoint? InitialWeights(EfficientNetTrainingOptions o, EfficientNetVariant variant, int classes)
        {
            // No initial weights: the model's own initialisation (training from scratch).
            if (o.InitialWeights is null) return null;
            bool pretrained = o.InitialWeights.Equals(EfficientNetTrainingOptions.Defaults.InitialWeights, StringComparison.OrdinalIgnoreCase);
            var request = new WeightsRequest(variant)
            {
                File = pretrained ? null : o.InitialWeights,
                Format = o.InitialWeightsFormat,
                FileDescription = "InitialWeights",
                CacheDirectory = o.CacheDirectory,
                NumClasses = classes,
                ReplaceHead = true,
                Logger = o.Logger,
            };
            try
            {
                return WeightsResolver.Resolve(request);
            }
            catch (FileNotFoundException e) when (pretrained)
            {
                // The resolver names the address and the path; training has one more way out, which it cannot know.
                throw new FileNotFoundException($"{e.Message} To train without them, start from scratch: --from-scratch on the command line, " +
                    "InitialWeights = null in C# (expect far lower accuracy on small data); or give a checkpoint file as --weights (InitialWeights).", e.FileName, e);
            }
        }


        public void Dispose()
        {
            _optimizer.Dispose();
            _ema?.Dispose();
            _model.Dispose();
        }
    }
}
