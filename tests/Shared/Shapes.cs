using System.Reflection;
using Microsoft.ML;

namespace EfficientNetML.Testing;

/// <summary>
/// SchemaShape of a data view's schema. ML.NET builds these internally (SchemaShape.Create is internal); tests call it
/// through reflection to exercise estimators' GetOutputSchema the way EstimatorChain does.
/// </summary>
public static class Shapes
{
    public static SchemaShape Of(DataViewSchema schema) =>
        (SchemaShape)typeof(SchemaShape).GetMethod("Create", BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public, [typeof(DataViewSchema)])!
            .Invoke(null, [schema])!;

    /// <summary>
    /// One line per column: name, vector kind, item type, key-ness and the same for each annotation. SchemaShape has no
    /// equality of its own; two shapes that describe alike are what EstimatorChain cannot tell apart.
    /// </summary>
    public static string[] Describe(SchemaShape shape) => shape.Select(c =>
        $"{c.Name} {c.Kind} {c.ItemType}{(c.IsKey ? " key" : "")} [{string.Join(", ", c.Annotations.Select(a => $"{a.Name} {a.Kind} {a.ItemType}{(a.IsKey ? " key" : "")}"))}]").ToArray();
}
