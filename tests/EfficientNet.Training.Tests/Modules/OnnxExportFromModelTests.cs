using EfficientNet.Training.Modules;
using EfficientNet.Training.Weights;
using Microsoft.ML.EfficientNet.Architecture;
using Microsoft.ML.EfficientNet.Onnx;
using Microsoft.ML.EfficientNet.Weights;
using static TorchSharp.torch;

namespace EfficientNet.Training.Tests.Modules;

/// <summary>ONNX Runtime on the managed writer's output vs the TorchSharp model, for every fixture and for a model's own state.</summary>
[TestClass]
public sealed class OnnxExportFromModelTests
{
    public static IEnumerable<object[]> Cases => Fixtures.CaseData;

    [TestMethod]
    [DynamicData(nameof(Cases))]
    public void OnnxRuntimeMatchesTorchSharp(string variant, string format, string weights, string io, int resolution)
    {
        var checkpoint = EfficientNetCheckpoint.Load(Fixtures.Generated(weights), EfficientNetVariant.Parse(variant));
        var input = new ParityCase(variant, format, weights, io, resolution).ReadIo().Input;
        float[] torchLogits;
        using (var model = ModelWeights.CreateModel(checkpoint))
        {
            model.eval();
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            torchLogits = model.forward(tensor(input.Values, input.Shape)).data<float>().ToArray();
        }
        byte[] onnx = EfficientNetOnnxExporter.Export(checkpoint, new OnnxExportOptions { Bare = true, Resolution = resolution });
        var ortLogits = OnnxRunner.Run(onnx, OnnxExportOptions.NormalizedInputName, input.Values, input.Shape)[OnnxExportOptions.LogitsOutputName];
        Parity.AssertClose(torchLogits, ortLogits, $"{weights}: ONNX Runtime vs TorchSharp");
    }

    [TestMethod]
    public void ModelStateExportsWithItsOwnConventions()
    {
        // A model with 7 classes and SAME padding, trained a few steps so batch-norm statistics move away from their defaults.
        var spec = EfficientNetSpec.Create(EfficientNetVariant.B0, numClasses: 7);
        var source = WeightSource.For(WeightFormat.TimmTensorFlow, EfficientNetVariant.B0);
        using var model = new EfficientNetModel(spec, source);
        manual_seed(11);
        using (var scope = NewDisposeScope())
        {
            model.train();
            var optimizer = optim.SGD(model.parameters(), 0.01);
            for (int step = 0; step < 3; step++)
            {
                optimizer.zero_grad();
                nn.functional.cross_entropy(model.forward(randn(4, 3, 64, 64)), randint(0, 7, [4])).backward();
                optimizer.step();
            }
        }
        model.eval();
        var checkpoint = ModelWeights.ToCheckpoint(model);
        Assert.AreEqual(source, checkpoint.Source);
        using var scope2 = NewDisposeScope();
        using var noGrad = no_grad();
        var x = randn(3, 3, 64, 64);
        var expected = model.forward(x).data<float>().ToArray();
        byte[] onnx = EfficientNetOnnxExporter.Export(checkpoint, new OnnxExportOptions { Bare = true, Resolution = 64 });
        var actual = OnnxRunner.Run(onnx, OnnxExportOptions.NormalizedInputName, x.data<float>().ToArray(), [3, 3, 64, 64])[OnnxExportOptions.LogitsOutputName];
        Parity.AssertClose(expected, actual, "trained state");
    }
}
