using BenchmarkDotNet.Running;

// dotnet run -c Release --project benchmarks/EfficientNet.Benchmarks -- --filter '*Featurizer*'
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
