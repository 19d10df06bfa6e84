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
}
