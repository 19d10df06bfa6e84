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
        // B0–B7, then V2-S/M/L, then Lite0–Lite4.
        Assert.AreEqual(16, rows.Count);
        foreach (string field in (string[])["name", "width", "depth", "resolution", "dropout", "params", "macs"])
            Assert.IsTrue(rows.All(r => r.TryGetProperty(field, out _)), field);
        Assert.AreEqual("b0", rows[0].GetProperty("name").GetString());
        Assert.AreEqual(5_288_548, rows[0].GetProperty("params").GetInt64());
        Assert.AreEqual(66_347_960, rows[7].GetProperty("params").GetInt64());
        Assert.AreEqual(600, rows[7].GetProperty("resolution").GetInt32());
        Assert.AreEqual(0.4, rows[4].GetProperty("dropout").GetDouble());
        Assert.AreEqual(1.4, rows[4].GetProperty("width").GetDouble());
        Assert.AreEqual(385_814_752, rows[0].GetProperty("macs").GetInt64());
        // torchvision's num_params for efficientnet_v2_s/m/l.
        Assert.AreEqual("v2-s", rows[8].GetProperty("name").GetString());
        Assert.AreEqual(21_458_488, rows[8].GetProperty("params").GetInt64());
        Assert.AreEqual("v2-m", rows[9].GetProperty("name").GetString());
        Assert.AreEqual(54_139_356, rows[9].GetProperty("params").GetInt64());
        Assert.AreEqual("v2-l", rows[10].GetProperty("name").GetString());
        Assert.AreEqual(118_515_272, rows[10].GetProperty("params").GetInt64());
        Assert.AreEqual(480, rows[10].GetProperty("resolution").GetInt32());
        Assert.AreEqual(85.808, rows[10].GetProperty("top1").GetDouble());
        // timm's efficientnet_lite0 … lite4 parameter counts, to the parameter.
        Assert.AreEqual("lite0", rows[11].GetProperty("name").GetString());
        long[] lite = [4_652_008, 5_416_680, 6_092_072, 8_197_096, 13_006_568];
        for (int i = 0; i < lite.Length; i++)
        {
            Assert.AreEqual($"lite{i}", rows[11 + i].GetProperty("name").GetString());
            Assert.AreEqual(lite[i], rows[11 + i].GetProperty("params").GetInt64(), $"lite{i}");
        }
    }

    [TestMethod]
    public void JsonAndTableShowThePublishedAccuracy()
    {
        var result = CliRunner.Run("info", "--json", "--phi", "1");
        Assert.AreEqual(0, result.ExitCode, result.Error);
        using var json = JsonDocument.Parse(result.Output);
        var rows = json.RootElement.EnumerateArray().ToList();
        // torchvision's IMAGENET1K_V1 acc@1 / acc@5.
        Assert.AreEqual(77.692, rows[0].GetProperty("top1").GetDouble());
        Assert.AreEqual(93.532, rows[0].GetProperty("top5").GetDouble());
        Assert.AreEqual(84.122, rows[7].GetProperty("top1").GetDouble());
        Assert.AreEqual(96.908, rows[7].GetProperty("top5").GetDouble());
        // Rows 8–10 are V2-S/M/L, 11–15 Lite0–Lite4; phi-1 comes after them.
        Assert.AreEqual("phi-1", rows[16].GetProperty("name").GetString());
        Assert.AreEqual(JsonValueKind.Null, rows[16].GetProperty("top1").ValueKind, "no published accuracy for phi-1");
        Assert.AreEqual(JsonValueKind.Null, rows[16].GetProperty("top5").ValueKind);

        var table = CliRunner.Run("info");
        Assert.AreEqual(0, table.ExitCode, table.Error);
        foreach (string text in (string[])["top-1 %", "top-5 %", "77.692", "84.122", "96.908"])
            StringAssert.Contains(table.Output, text);
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
