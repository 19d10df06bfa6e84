using System.Text.Json;

namespace EfficientNet.Cli.Tests;

[TestClass]
public sealed class InfoCommandTests
{
    [TestMethod]
    public void JsonListsTheFamilyWithTheContractFields()
    {
        var result = CliRunner.Run("info", "--json");
        Assert.AreEqual(0, result.ExitCode, result.Error);
        using var json = JsonDocument.Parse(result.Output);
        var rows = json.RootElement.EnumerateArray().ToList();
        Assert.AreEqual(8, rows.Count);
        foreach (string field in (string[])["name", "width", "depth", "resolution", "dropout", "params", "macs"])
            Assert.IsTrue(rows.All(r => r.TryGetProperty(field, out _)), field);
        Assert.AreEqual("b0", rows[0].GetProperty("name").GetString());
        Assert.AreEqual(5_288_548, rows[0].GetProperty("params").GetInt64());
        Assert.AreEqual(66_347_960, rows[7].GetProperty("params").GetInt64());
        Assert.AreEqual(600, rows[7].GetProperty("resolution").GetInt32());
        Assert.AreEqual(0.4, rows[4].GetProperty("dropout").GetDouble());
        Assert.AreEqual(1.4, rows[4].GetProperty("width").GetDouble());
        Assert.AreEqual(385_814_752, rows[0].GetProperty("macs").GetInt64());
    }

    [TestMethod]
    public void PhiAddsACustomVariant()
    {
        var result = CliRunner.Run("info", "--json", "--phi", "2.5");
        Assert.AreEqual(0, result.ExitCode, result.Error);
        using var json = JsonDocument.Parse(result.Output);
        var custom = json.RootElement.EnumerateArray().Last();
        Assert.AreEqual("phi-2.5", custom.GetProperty("name").GetString());
        Assert.AreEqual(Math.Pow(1.1, 2.5), custom.GetProperty("width").GetDouble(), 1e-12);
        Assert.AreEqual(318, custom.GetProperty("resolution").GetInt32());
    }

    [TestMethod]
    public void TableShowsTheSeedsColumns()
    {
        var result = CliRunner.Run("info");
        Assert.AreEqual(0, result.ExitCode, result.Error);
        foreach (string text in (string[])["variant", "width", "depth", "res", "dropout", "stem", "head", "blocks", "params", "GMACs", "66,347,960", "37.746", "16x1 24x2 40x2 80x3 112x3 192x4 320x1"])
            StringAssert.Contains(result.Output, text);
    }

    [TestMethod]
    public void BadArgumentsFailWithAMessage()
    {
        var result = CliRunner.Run("info", "--phi", "-1");
        Assert.AreNotEqual(0, result.ExitCode);
        StringAssert.Contains(result.Output + result.Error, "φ");
    }
}
