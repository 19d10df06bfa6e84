using EfficientNet.Training.Training;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace EfficientNet.Training.MLNet;

/// <summary>
/// A fitted <see cref="EfficientNetMulticlassTrainer"/>: the ML.NET scoring chain (resize, pixels, the exported ONNX
/// model, label keys) plus what training reported. <see cref="ICanSaveModel.Save"/> writes only the chain, so the
/// saved model needs ML.NET and ONNX Runtime, not this library or libtorch.
/// </summary>
public sealed class EfficientNetMulticlassModel : ITransformer, IDisposable
{
    private readonly ITransformer _chain;

    internal EfficientNetMulticlassModel(ITransformer chain, TrainingResult training)
    {
        _chain = chain;
        Training = training;
    }

    /// <summary>History, best and exported epoch, exported files, recipe and chance assessment (<see cref="TrainingResult.ChanceWarning"/>) of the training run.</summary>
    public TrainingResult Training { get; }

    /// <summary>Class names in key order.</summary>
    public IReadOnlyList<string> Classes => Training.Classes;

    /// <summary>Always true.</summary>
    public bool IsRowToRowMapper => true;

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => _chain.GetOutputSchema(inputSchema);

    /// <inheritdoc />
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => _chain.GetRowToRowMapper(inputSchema);

    /// <summary>Adds <c>Score</c> and <c>PredictedLabel</c>.</summary>
    /// <param name="input">Data with the image column.</param>
    public IDataView Transform(IDataView input) => _chain.Transform(input);

    /// <summary>Writes the scoring chain.</summary>
    void ICanSaveModel.Save(ModelSaveContext ctx) => _chain.Save(ctx);

    /// <summary>Frees the ONNX Runtime session.</summary>
    public void Dispose()
    {
        if (_chain is IEnumerable<ITransformer> transformers)
            foreach (var t in transformers) (t as IDisposable)?.Dispose();
    }
}
