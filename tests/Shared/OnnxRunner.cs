using Microsoft.ML.OnnxRuntime;

namespace EfficientNetML.Testing;

/// <summary>Runs an ONNX model on one float32 input with ONNX Runtime (CPU) and returns every output as a flat array.</summary>
public static class OnnxRunner
{
    public static Dictionary<string, float[]> Run(byte[] model, string inputName, float[] input, long[] shape)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 2 };
        using var session = new InferenceSession(model, options);
        using var value = OrtValue.CreateTensorValueFromMemory(input, shape);
        using var runOptions = new RunOptions();
        var outputNames = session.OutputNames.ToArray();
        using var results = session.Run(runOptions, [inputName], [value], outputNames);
        var outputs = new Dictionary<string, float[]>();
        for (int i = 0; i < outputNames.Length; i++) outputs[outputNames[i]] = results[i].GetTensorDataAsSpan<float>().ToArray();
        return outputs;
    }
}
