using System.CommandLine;
using EfficientNet.Cli.Commands;

var root = new RootCommand("EfficientNet B0–B7 for .NET: inspect the family, export ONNX models, fine-tune and evaluate.");
root.Subcommands.Add(InfoCommand.Create());
return root.Parse(args).Invoke();
