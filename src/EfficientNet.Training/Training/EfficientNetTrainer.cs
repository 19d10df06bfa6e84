using System.Diagnostics;
using System.Text.Json;
using EfficientNet.Training.Data;
using EfficientNet.Training.Modules;
using EfficientNet.Training.Optimizers;
using EfficientNet.Training.Weights;
using Microsoft.Extensions.Logging;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Evaluation;
using Microsoft.ML.EfficientNet.Onnx;
using Microsoft.ML.EfficientNet.Preprocessing;
using Microsoft.ML.EfficientNet.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace EfficientNet.Training.Training;

/// <summary>
/// Trains or fine-tunes an EfficientNet with TorchSharp: streaming augmented batches, parameter groups with their own
/// learning rates and weight decay, a schedule, label smoothing, gradient clipping, an EMA of the weights, early
/// stopping, and a checkpoint after every epoch from which an interrupted run resumes exactly. The result is exported
/// as ONNX (preprocessing and labels inside) and canonical safetensors.
/// </summary>
public static class EfficientNetTrainer
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
        var device = TrainingDevice.Resolve(options.Device);
        Validate(options);
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

    private static void Validate(EfficientNetTrainingOptions o)
    {
        if (o.Epochs < 1) throw new ArgumentOutOfRangeException(nameof(o.Epochs), o.Epochs, "Train for at least one epoch.");
        if (o.BatchSize < 2) throw new ArgumentOutOfRangeException(nameof(o.BatchSize), o.BatchSize, "Batch size must be at least 2 (batch norm needs two samples).");
        if (!(o.LearningRate > 0)) throw new ArgumentOutOfRangeException(nameof(o.LearningRate), o.LearningRate, "Learning rate must be positive.");
        if (o.BackboneLearningRate is < 0) throw new ArgumentOutOfRangeException(nameof(o.BackboneLearningRate), o.BackboneLearningRate, "Must not be negative.");
        if (!(o.LabelSmoothing >= 0 && o.LabelSmoothing < 1)) throw new ArgumentOutOfRangeException(nameof(o.LabelSmoothing), o.LabelSmoothing, "Must be in [0, 1).");
        if (!(o.WarmupFraction >= 0 && o.WarmupFraction < 1)) throw new ArgumentOutOfRangeException(nameof(o.WarmupFraction), o.WarmupFraction, "Must be in [0, 1).");
        if (o.EmaDecay is { } d && !(d > 0 && d < 1)) throw new ArgumentOutOfRangeException(nameof(o.EmaDecay), d, "Must be in (0, 1).");
        if (o.ImageSize is < 32) throw new ArgumentOutOfRangeException(nameof(o.ImageSize), o.ImageSize, "Images must be at least 32 pixels.");
        if (o.TrainableStages is < 1 or > 9) throw new ArgumentOutOfRangeException(nameof(o.TrainableStages), o.TrainableStages, "Between 1 (head conv) and 9 (everything).");
        if (o.CheckpointStages.Any(s => s is < 0 or > 8)) throw new ArgumentOutOfRangeException(nameof(o.CheckpointStages), string.Join(",", o.CheckpointStages), "Stages are 0 (stem) to 8 (head).");
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

    /// <summary>One run's state; the methods are the phases of <see cref="Execute"/>.</summary>
    private sealed class Run : IDisposable
    {
        private readonly EfficientNetTrainingOptions _o;
        private readonly LabeledImageSet _train;
        private readonly LabeledImageSet? _validation;
        private readonly Device _device;
        private readonly ILogger? _log;
        private readonly EfficientNetModel _model;
        private readonly EfficientNetModel? _ema;
        private readonly List<(Tensor Ema, Tensor Model, bool Average)> _emaPairs = [];
        private readonly Optimizer _optimizer;
        private readonly LearningRateSchedule _schedule;
        private readonly TrainingBatches _batches;
        private readonly PreprocessingRecipe _recipe;
        private readonly CheckpointStore _store;
        private readonly string _output;
        private readonly int _imageSize;
        private readonly int _frozenUnits;

        public Run(EfficientNetTrainingOptions options, LabeledImageSet train, LabeledImageSet? validation, Device device)
        {
            _o = options;
            _train = train;
            _validation = validation;
            _device = device;
            _log = options.Logger;
            set_num_threads(options.Threads ?? Environment.ProcessorCount);
            if (options.KeepFreedMemory) TrainingRuntime.KeepFreedMemory();
            manual_seed(options.Seed);

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
            _imageSize = options.ImageSize ?? options.Recipe?.CropSize ?? (initial is not null ? PreprocessingRecipe.For(source.Format, variant).CropSize : variant.Resolution);
            var stats = initial is not null ? PreprocessingRecipe.For(source.Format, variant) : null;
            _recipe = options.Recipe ?? PreprocessingRecipe.Centered(_imageSize, PreprocessingRecipe.DefaultCropFraction, stats?.Mean, stats?.Std);
            if (_recipe.CropSize != _imageSize)
                throw new ArgumentException($"Recipe crop size {_recipe.CropSize} differs from ImageSize {_imageSize}.", nameof(options));

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

            if (options.EmaDecay is not null)
            {
                _ema = new EfficientNetModel(spec, source, activation);
                if (options.ChannelsLast) _ema.ToChannelsLast();
                _ema.to(_device);
                _ema.eval();
                var emaState = _ema.state_dict();
                foreach (var (name, value) in _model.state_dict())
                {
                    var target = emaState[name];
                    target.requires_grad = false;
                    _emaPairs.Add((target, value, value.is_floating_point() && _model.named_parameters().Any(p => p.name == name)));
                }
                CopyToEma();
            }

            _optimizer = Optimizer.Create(options.Optimizer, ParameterGroups(_model, options, initial is not null));
            _batches = new TrainingBatches(train, Augmentation(), options.BatchSize, options.Seed, options.DataWorkers, logger: _log);
            _schedule = new LearningRateSchedule(options.Schedule, options.LearningRate, (long)options.Epochs * _batches.BatchesPerEpoch, options.WarmupFraction);
            _output = Path.GetFullPath(options.OutputDirectory ?? Path.Combine(Path.GetTempPath(), "efficientnet-train-" + DateTime.UtcNow.ToString("yyyyMMdd-HHmmss")));
            Directory.CreateDirectory(_output);
            _store = new CheckpointStore(Path.Combine(_output, "checkpoints"), Math.Max(1, options.KeepCheckpoints));
        }

        public TrainingResult Execute(CancellationToken cancellationToken)
        {
            var state = new RunState { Variant = _model.Spec.Variant.Name, Classes = _train.Classes, ImageSize = _imageSize };
            if (_o.Resume && _store.Latest() is { } latest)
            {
                var saved = CheckpointStore.Load(latest, _model, _ema, _optimizer);
                if (saved.Variant != state.Variant || !saved.Classes.SequenceEqual(state.Classes) || saved.ImageSize != _imageSize)
                    throw new InvalidOperationException($"The checkpoint in {latest} is for {saved.Variant} at {saved.ImageSize} px with classes " +
                        $"[{string.Join(", ", saved.Classes)}], not {state.Variant} at {_imageSize} px with [{string.Join(", ", state.Classes)}]. " +
                        "Use another output folder or turn resuming off.");
                state = saved;
                CheckpointStore.RestoreRandomState(saved.RandomState);
                _log?.LogInformation("Resuming from {Checkpoint}: epoch {Epoch}, batch {Batch}", latest, saved.Epoch + 1, saved.BatchInEpoch);
            }

            var history = state.History.ToList();
            var clock = Stopwatch.StartNew();
            long stepsDoneAtStart = state.GlobalStep;
            long totalSteps = (long)_o.Epochs * _batches.BatchesPerEpoch;
            TrainingStatus status = TrainingStatus.Completed;
            string message = "";
            for (int epoch = state.Epoch; epoch < _o.Epochs; epoch++)
            {
                var epochClock = Stopwatch.StartNew();
                SetTrainingMode();
                double lossSum = 0;
                long correct = 0, seen = 0;
                int batchIndex = epoch == state.Epoch ? state.BatchInEpoch : 0;
                long globalStep = state.GlobalStep;
                double lr = _schedule.At(Math.Min(globalStep, totalSteps - 1)).LearningRate;
                bool stop = false;
                void SaveInterrupted()
                {
                    string where = _store.Save($"interrupted-e{epoch + 1:D4}-b{batchIndex:D5}", _model, _ema, _optimizer,
                        state with { Epoch = epoch, BatchInEpoch = batchIndex, GlobalStep = globalStep, History = history, RandomState = CheckpointStore.SaveRandomState() });
                    status = TrainingStatus.Cancelled;
                    message = $"Cancelled at epoch {epoch + 1}, step {batchIndex}. Saved {where}; run again with the same output folder to resume.";
                    stop = true;
                }
                foreach (var batch in _batches.Epoch(epoch, batchIndex, cancellationToken))
                {
                    if (cancellationToken.IsCancellationRequested)
                    {
                        SaveInterrupted();
                        break;
                    }
                    (double momentumLr, double? momentum) = _schedule.At(globalStep);
                    lr = momentumLr;
                    var (loss, hits) = Step(batch, lr, momentum);
                    if (!double.IsFinite(loss))
                    {
                        status = TrainingStatus.Diverged;
                        message = $"The loss became {loss} at epoch {epoch + 1}, step {batchIndex + 1} (learning rate {lr:G3}). Training stopped; " +
                            $"the last good checkpoint is {_store.Latest() ?? "none (no epoch completed)"}. Lower the learning rate or set MaxGradNorm.";
                        _log?.LogError("{Message}", message);
                        stop = true;
                        break;
                    }
                    globalStep++;
                    batchIndex++;
                    lossSum += loss * batch.Count;
                    correct += hits;
                    seen += batch.Count;
                    double rate = seen / Math.Max(1e-9, epochClock.Elapsed.TotalSeconds);
                    var eta = TimeSpan.FromSeconds((totalSteps - globalStep) * _o.BatchSize / Math.Max(rate, 1e-9));
                    _o.Progress?.Invoke(new StepCompleted(epoch, batchIndex, _batches.BatchesPerEpoch, globalStep, loss, correct / (double)seen, lr, rate, eta));
                    if (_o.LogEverySteps > 0 && batchIndex % _o.LogEverySteps == 0)
                        _log?.LogDebug("epoch {Epoch} step {Step}/{Steps} loss {Loss:F4} lr {Lr:G3} {Rate:F1} img/s", epoch + 1, batchIndex, _batches.BatchesPerEpoch, loss, lr, rate);
                }
                // Cancelled before the loader delivered a batch (between epochs, or while it was stopping).
                if (!stop && cancellationToken.IsCancellationRequested) SaveInterrupted();
                if (stop) break;

                var validation = Evaluate();
                double accuracy = validation?.Accuracy ?? double.NaN;
                var metrics = new EpochMetrics(epoch, seen > 0 ? lossSum / seen : double.NaN, seen > 0 ? correct / (double)seen : double.NaN,
                    validation?.MeanLoss ?? double.NaN, accuracy, validation?.Top5Accuracy ?? double.NaN, lr, epochClock.Elapsed.TotalSeconds);
                history.Add(metrics);
                bool improved = validation is null || accuracy > state.BestAccuracy;
                state = state with
                {
                    Epoch = epoch + 1,
                    BatchInEpoch = 0,
                    GlobalStep = globalStep,
                    History = history,
                    BestAccuracy = improved && validation is not null ? accuracy : state.BestAccuracy,
                    BestEpoch = improved ? epoch : state.BestEpoch,
                    EpochsWithoutImprovement = improved ? 0 : state.EpochsWithoutImprovement + 1,
                };
                if (improved) SafeTensorsFile.Write(BestWeightsPath, ModelWeights.ToStateDict(_ema ?? _model, "best weights").Entries);
                state = state with { RandomState = CheckpointStore.SaveRandomState() };
                string checkpoint = _store.Save($"epoch-{epoch + 1:D4}", _model, _ema, _optimizer, state);
                var elapsed = clock.Elapsed;
                double perStep = elapsed.TotalSeconds / Math.Max(1, globalStep - stepsDoneAtStart);
                var remaining = TimeSpan.FromSeconds(perStep * (totalSteps - globalStep));
                _o.Progress?.Invoke(new EpochCompleted(epoch, _o.Epochs, metrics, elapsed, remaining, checkpoint, improved));
                _log?.LogInformation("epoch {Epoch}/{Epochs}: train loss {TrainLoss:F4} acc {TrainAcc:P2}; validation loss {ValLoss:F4} acc {ValAcc:P2} top-5 {Top5:P2}; {Seconds:F0} s",
                    epoch + 1, _o.Epochs, metrics.TrainLoss, metrics.TrainAccuracy, metrics.ValidationLoss, metrics.ValidationAccuracy, metrics.ValidationTop5, metrics.Seconds);
                if (_o.EarlyStoppingPatience is { } patience && state.EpochsWithoutImprovement >= patience && epoch + 1 < _o.Epochs)
                {
                    status = TrainingStatus.EarlyStopped;
                    message = $"Validation accuracy did not improve for {patience} epochs; stopped after epoch {epoch + 1}. Best {state.BestAccuracy:P2} at epoch {state.BestEpoch + 1}.";
                    break;
                }
            }
            if (status == TrainingStatus.Completed)
                message = _validation is null ? $"Trained {_o.Epochs} epochs." : $"Trained {_o.Epochs} epochs; best validation accuracy {state.BestAccuracy:P2} at epoch {state.BestEpoch + 1}.";
            return Export(status, message, state, history);
        }

        private string BestWeightsPath => Path.Combine(_output, "best.safetensors");

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
            UpdateEma();
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
            var model = _ema ?? _model;
            model.eval();
            var metrics = new ClassificationMetrics(_train.Classes.Count);
            using (no_grad())
            {
                foreach (var batch in new EvaluationBatches(_validation, _recipe, Math.Max(_o.BatchSize, 64), _log).All())
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

        private void UpdateEma()
        {
            if (_ema is null) return;
            long t = _optimizer.StepCount;
            double decay = Math.Min(_o.EmaDecay!.Value, (1.0 + t) / (10.0 + t));
            using var noGrad = no_grad();
            using var s = new HeldScalars();
            Scalar keep = s[decay], take = s[1 - decay];
            foreach (var (ema, model, average) in _emaPairs)
            {
                if (average) ema.mul_(keep).add_(model, alpha: take);
                else ema.copy_(model);
            }
        }

        private void CopyToEma()
        {
            using var noGrad = no_grad();
            foreach (var (ema, model, _) in _emaPairs) ema.copy_(model);
        }

        private TrainingResult Export(TrainingStatus status, string message, RunState state, List<EpochMetrics> history)
        {
            string? onnx = null, weights = null;
            EfficientNetCheckpoint? checkpoint = null;
            if (File.Exists(BestWeightsPath))
            {
                weights = Path.Combine(_output, "model.safetensors");
                File.Copy(BestWeightsPath, weights, overwrite: true);
                checkpoint = EfficientNetCheckpoint.FromCanonical(_model.Spec, SafeTensorsFile.Read(weights), _model.Source);
                onnx = Path.Combine(_output, "model.onnx");
                EfficientNetOnnxExporter.Export(checkpoint, onnx, new OnnxExportOptions
                {
                    Outputs = OnnxOutputs.LogitsAndFeatures,
                    Preprocessing = _recipe,
                    Labels = _train.Classes,
                });
                File.WriteAllLines(Path.Combine(_output, "labels.txt"), _train.Classes);
            }
            var result = new TrainingResult
            {
                Status = status,
                Message = message,
                History = history,
                BestEpoch = state.BestEpoch,
                BestAccuracy = _validation is null ? double.NaN : state.BestAccuracy,
                Classes = _train.Classes,
                Recipe = _recipe,
                OutputDirectory = _output,
                OnnxPath = onnx,
                WeightsPath = weights,
                Weights = checkpoint,
            };
            File.WriteAllText(Path.Combine(_output, "training.json"), JsonSerializer.Serialize(new
            {
                status = status.ToString(),
                message,
                variant = _model.Spec.Variant.Name,
                imageSize = _imageSize,
                classes = _train.Classes,
                trainImages = _train.Count,
                validationImages = _validation?.Count ?? 0,
                bestEpoch = state.BestEpoch + 1,
                bestAccuracy = double.IsFinite(result.BestAccuracy) ? result.BestAccuracy : (double?)null,
                history = history.Select(h => new { epoch = h.Epoch + 1, h.TrainLoss, h.TrainAccuracy, ValidationLoss = Finite(h.ValidationLoss), ValidationAccuracy = Finite(h.ValidationAccuracy), h.LearningRate, h.Seconds }),
            }, new JsonSerializerOptions { WriteIndented = true }));
            return result;

            static double? Finite(double v) => double.IsFinite(v) ? v : null;
        }

        private static EfficientNetCheckpoint? InitialWeights(EfficientNetTrainingOptions o, EfficientNetVariant variant, int classes)
        {
            // No initial weights: the model's own initialisation (training from scratch).
            if (o.InitialWeights is null) return null;
            bool pretrained = o.InitialWeights.Equals("pretrained", StringComparison.OrdinalIgnoreCase);
            return WeightsResolver.Resolve(new WeightsRequest(variant)
            {
                File = pretrained ? null : o.InitialWeights,
                Format = o.InitialWeightsFormat,
                FileDescription = "InitialWeights",
                CacheDirectory = o.CacheDirectory,
                NumClasses = classes,
                ReplaceHead = true,
                Logger = o.Logger,
            });
        }

        public void Dispose()
        {
            _optimizer.Dispose();
            _ema?.Dispose();
            _model.Dispose();
        }
    }
}
