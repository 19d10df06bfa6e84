using Microsoft.ML.EfficientNet.Preprocessing;

namespace Microsoft.ML.EfficientNet.Tests.Preprocessing;

[TestClass]
public sealed class RgbValuesTests
{
    [TestMethod]
    public void RgbValuesTakeOneValueForAllThreeChannels()
    {
        Assert.AreEqual(new RgbValues(0.5f, 0.5f, 0.5f), RgbValues.Parse("0.5"));
        Assert.AreEqual(new RgbValues(0.485f, 0.456f, 0.406f), RgbValues.Parse(new RgbValues(0.485f, 0.456f, 0.406f).ToString()));
        Assert.ThrowsExactly<FormatException>(() => RgbValues.Parse("0.1,0.2"));
    }
}
