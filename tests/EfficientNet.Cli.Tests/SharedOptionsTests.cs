using System.Text.RegularExpressions;

namespace EfficientNet.Cli.Tests;

/// <summary>
/// The flags train and compare share are one definition: both commands' help lists them with the same description, and a
/// bad value of one is refused with the same error by both, before any data is opened.
/// </summary>
[TestClass]
public sealed partial class SharedOptionsTests
{
    /// <summary>The data flags and the training flags both commands take.</summary>
    private static readonly string[] Shared =
    [
        "--data", "--classes", "--per-class",
        "--epochs", "--batch-size", "--image-size", "--lr", "--schedule", "--warmup", "--augment", "--mean", "--std", "--crop-fraction", "--seed", "--threads", "--no-resume",
    ];

    /// <summary>Each option's description in a command's help, its default left out (a comparison trains fewer epochs per candidate).</summary>
    private static Dictionary<string, string> Descriptions(string command)
    {
        var help = CliRunner.Run(command, "--help");
        Assert.AreEqual(0, help.ExitCode, help.Error);
        var descriptions = new Dictionary<string, string>(StringComparer.Ordinal);
        string? current = null;
        foreach (string line in help.Output.Split('\n').Select(l => l.TrimEnd()))
        {
            var option = OptionLine().Match(line);
            if (option.Success)
            {
                current = option.Groups["name"].Value;
                descriptions[current] = option.Groups["text"].Value;
            }
            else if (current is not null && line.StartsWith("    ", StringComparison.Ordinal) && line.Trim().Length > 0)
            {
                // A description wrapped onto the next line.
                descriptions[current] += " " + line.Trim();
            }
            else
            {
                current = null;
            }
        }
        return descriptions.ToDictionary(d => d.Key, d => DefaultSuffix().Replace(d.Value, "").Trim(), StringComparer.Ordinal);
    }

    [TestMethod]
    public void TrainAndCompareHelpDescribeTheSharedFlagsIdentically()
    {
        var train = Descriptions("train");
        var compare = Descriptions("compare");
        foreach (string flag in Shared)
        {
            Assert.IsTrue(train.TryGetValue(flag, out string? inTrain), $"train --help lists {flag}:\n{string.Join("\n", train.Keys)}");
            Assert.IsTrue(compare.TryGetValue(flag, out string? inCompare), $"compare --help lists {flag}");
            Assert.IsTrue(inTrain.Length > 10, $"{flag} has a description: '{inTrain}'");
            Assert.AreEqual(inTrain, inCompare, flag);
        }
        // The defaults stay each command's own.
        StringAssert.Contains(HelpLine("train", "--epochs"), "[default: 10]");
        StringAssert.Contains(HelpLine("compare", "--epochs"), "[default: 5]");
    }

    private static string HelpLine(string command, string flag) =>
        CliRunner.Run(command, "--help").Output.Split('\n').Single(l => l.TrimStart().StartsWith(flag + " ", StringComparison.Ordinal));

    [TestMethod]
    [DataRow("--per-class", "0", "error: --per-class must be at least 1; got 0.")]
    [DataRow("--epochs", "0", "error: --epochs must be at least 1; got 0.")]
    [DataRow("--batch-size", "1", "error: --batch-size must be at least 2 (batch norm needs two images per step); got 1.")]
    [DataRow("--image-size", "16", "error: --image-size must be from 32 to 2048 pixels; got 16.")]
    [DataRow("--warmup", "1", "error: --warmup must be in [0, 1); got 1.")]
    [DataRow("--schedule", "linear", "error: Unknown --schedule 'linear'. Valid: cosine, one-cycle, constant.")]
    [DataRow("--augment", "heavy", "error: Unknown --augment 'heavy'. Valid: standard, light, shift, none.")]
    [DataRow("--mean", "abc", "error: --mean 'abc' is not one number or three comma-separated numbers (R,G,B) on the 0–1 scale.")]
    [DataRow("--std", "0", "error: --std '0' must be finite numbers > 0.")]
    [DataRow("--crop-fraction", "1.5", "error: --crop-fraction must be in (0, 1]; got 1.5.")]
    public void ABadSharedFlagIsTheSameErrorFromTrainAndCompare(string flag, string value, string expected)
    {
        using var dir = new TemporaryDirectory();
        var train = CliRunner.Run("train", "--data", "fashion-mnist", "--output", Path.Combine(dir.Path, "run"), flag, value);
        var compare = CliRunner.Run("compare", "--data", "fashion-mnist", "--output", Path.Combine(dir.Path, "compare"), flag, value);
        Assert.AreEqual(1, train.ExitCode, train.Output + train.Error);
        Assert.AreEqual(1, compare.ExitCode, compare.Output + compare.Error);
        Assert.AreEqual(expected, train.Error.Trim());
        Assert.AreEqual(train.Error, compare.Error);
        Assert.IsFalse(Directory.Exists(Path.Combine(dir.Path, "run")) || Directory.Exists(Path.Combine(dir.Path, "compare")), "refused before anything is written");
    }

    [GeneratedRegex(@"^  (?:-\w, )?(?<name>--[a-z0-9-]+)(?: <[^>]+>)?(?: \(REQUIRED\))?\s{2,}(?<text>\S.*)$")]
    private static partial Regex OptionLine();

    [GeneratedRegex(@"\s*\[default: [^\]]*\]\s*$")]
    private static partial Regex DefaultSuffix();
}
