using EfficientNet.Training.Reports;
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

    /// <summary>
    /// Writes the training run's report into <paramref name="directory"/>: <c>training-curves.png</c> (loss and accuracy per epoch,
    /// training and validation), <c>report.html</c> (the run's numbers against chance) and, with
    /// <paramref name="testMetrics"/>, <c>confusion-matrix.png</c>.
    /// </summary>
    /// <param name="directory">Target folder (created when missing); default the run folder.</param>
    /// <param name="testMetrics">ML.NET's evaluation of held-out images (<c>mlContext.MulticlassClassification.Evaluate</c>), in the order of <see cref="Classes"/>; default none.</param>
    /// <param name="testTitle">What <paramref name="testMetrics"/> were measured on, as the report heads them.</param>
    /// <returns>The files written: the HTML page first, then the images it shows.</returns>
    public IReadOnlyList<string> WriteReport(string? directory = null, MulticlassClassificationMetrics? testMetrics = null, string testTitle = "held-out images")
    {
        var evaluation = testMetrics is null ? null : ReportEvaluation.From(testMetrics, Training.Classes, testTitle);
        var files = TrainingReport.Write(Training, directory ?? Training.OutputDirectory, evaluation);
        return files.Confusion is null ? [files.Html, files.Curves] : [files.Html, files.Curves, files.Confusion];
    }
}
