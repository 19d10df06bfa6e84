using EfficientNet.Training.MLNet;
using EfficientNet.Training.Modules;
using EfficientNet.Training.Optimizers;
using EfficientNet.Training.Training;
using Microsoft.ML.EfficientNet.Architecture;
using static TorchSharp.torch;

namespace EfficientNet.Training.Tests.Training;

[TestClass]
public sealed class TrainingOptionsTests
{
    [TestMethod]
    public void TheTrainerOptionsCarryEveryTrainingOptionWithoutChangingThemselves()
    {
        var options = new EfficientNetMulticlassTrainerOptions
        {
            Variant = "b2",
            Epochs = 3,
            BatchSize = 8,
            LearningRate = 0.02,
            Optimizer = OptimizerKind.Sgd,
            EmaDecay = 0.99,
            ValidationFraction = 0.2,
            Configure = o => o.Epochs *= 2,
        };
        var first = options.ToTrainingOptions();
        var second = options.ToTrainingOptions();
        Assert.AreSame(EfficientNetVariant.B2, first.Variant);
        Assert.AreEqual(6, first.Epochs);
        Assert.AreEqual(6, second.Epochs, "Configure changes the copy, not the options");
        Assert.AreEqual(3, options.Epochs);
        Assert.AreEqual(8, first.BatchSize);
        Assert.AreEqual(0.02, first.LearningRate);
        Assert.AreEqual(OptimizerKind.Sgd, first.Optimizer);
        Assert.AreEqual(0.99, first.EmaDecay);
        Assert.AreEqual(0.2, first.ValidationFraction);

        // Defaults are those of the training options, declared once.
        var defaults = new EfficientNetMulticlassTrainerOptions();
        var plain = new EfficientNetTrainingOptions();
        foreach (var property in typeof(EfficientNetTrainingOptions).GetProperties())
        {
            object? expected = property.GetValue(plain), actual = property.GetValue(defaults);
            if (expected is System.Collections.IEnumerable list and not string)
                CollectionAssert.AreEqual(list.Cast<object>().ToList(), ((System.Collections.IEnumerable)actual!).Cast<object>().ToList(), property.Name);
            else Assert.AreEqual(expected, actual, property.Name);
        }
    }

    [TestMethod]
    public void OptimizerAndScheduleNamesRoundTrip()
    {
        foreach (var kind in Enum.GetValues<OptimizerKind>()) Assert.AreEqual(kind, OptimizerKinds.Parse(OptimizerKinds.ToName(kind)));
        foreach (var kind in Enum.GetValues<ScheduleKind>()) Assert.AreEqual(kind, ScheduleKinds.Parse(ScheduleKinds.ToName(kind)));
        Assert.AreEqual(OptimizerKind.RmsPropTF, OptimizerKinds.Parse("RMSprop-TF"));
        Assert.AreEqual(ScheduleKind.CosineWithWarmup, ScheduleKinds.Parse("cosine"));
        Assert.AreEqual(ScheduleKind.OneCycle, ScheduleKinds.Parse("one-cycle"));
        var error = Assert.ThrowsExactly<ArgumentException>(() => OptimizerKinds.Parse("adam"));
        StringAssert.Contains(error.Message, "Valid: adamw, rmsprop-tf, sgd.");
    }

    [TestMethod]
    public void ModulesStartAsTheSharedRuleSays()
    {
        // The TorchSharp modules and RandomWeights read one description of torchvision's initialisation: each large
        // tensor's spread matches it (normal: std = scale; uniform: std = bound / √3).
        manual_seed(2);
        var spec = EfficientNetSpec.Create(EfficientNetVariant.B0, numClasses: 10);
        using var model = new EfficientNetModel(spec);
        var state = model.state_dict();
        foreach (var t in spec.StateDict.Where(t => t.ElementCount >= 1000))
        {
            var init = TorchvisionInit.For(t);
            double expected = init.Distribution switch
            {
                InitDistribution.Normal => init.Scale,
                InitDistribution.Uniform => init.Scale / Math.Sqrt(3),
                _ => 0,
            };
            double std = state[t.Name].to_type(ScalarType.Float64).std(unbiased: false).item<double>();
            Assert.AreEqual(expected, std, 0.1 * expected + 1e-12, t.Name);
        }
    }
}
