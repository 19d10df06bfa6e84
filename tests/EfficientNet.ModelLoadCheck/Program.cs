// Usage: EfficientNet.ModelLoadCheck MODEL.zip IMAGE_FOLDER OUTPUT_COLUMN PATH...
// Loads the model with plain ML.NET, scores the images (column "Path", relative to IMAGE_FOLDER is handled by the
// model's own LoadImages, or absolute paths), and prints one JSON object: the loaded assemblies and each row's
// OUTPUT_COLUMN as floats (vector) or as a string (scalar).
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;

string modelPath = args[0], imageFolder = args[1], outputColumn = args[2];
var ml = new MLContext(seed: 1);
var model = ml.Model.Load(modelPath, out _);
var rows = args.Skip(3).Select(p => new ImageRow { Path = p, Label = "" }).ToList();
var scored = model.Transform(ml.Data.LoadFromEnumerable(rows));
var column = scored.Schema[outputColumn];
var values = new List<object>();
if (column.Type is VectorDataViewType { ItemType: TextDataViewType })
    values.AddRange(scored.GetColumn<VBuffer<ReadOnlyMemory<char>>>(column).Select(v => (object)v.DenseValues().Select(s => s.ToString()).ToArray()));
else if (column.Type is VectorDataViewType)
    values.AddRange(scored.GetColumn<VBuffer<float>>(column).Select(v => (object)v.DenseValues().ToArray()));
else if (column.Type is KeyDataViewType)
{
    var keys = new VBuffer<ReadOnlyMemory<char>>();
    column.GetKeyValues(ref keys);
    var names = keys.DenseValues().Select(k => k.ToString()).ToArray();
    values.AddRange(scored.GetColumn<uint>(column).Select(k => (object)(k == 0 ? "" : names[k - 1])));
}
else
    values.AddRange(scored.GetColumn<ReadOnlyMemory<char>>(column).Select(s => (object)s.ToString()));
var assemblies = AppDomain.CurrentDomain.GetAssemblies().Select(a => a.GetName().Name).OrderBy(n => n).ToArray();
Console.WriteLine(JsonSerializer.Serialize(new { assemblies, imageFolder, values }));

internal sealed class ImageRow
{
    public string Path { get; set; } = "";
    public string Label { get; set; } = "";
}
