using BenchmarkDotNet.Running;
using EfficientNet.Benchmarks;

// Featurizer and decoding: BenchmarkDotNet     dotnet run -c Release --project benchmarks/EfficientNet.Benchmarks -- --filter '*'
// Training memory and step time, one process per configuration:
//                                              dotnet run -c Release --project benchmarks/EfficientNet.Benchmarks -- training-memory
// Featurizer resident memory over 10,000 rows:  dotnet run -c Release --project benchmarks/EfficientNet.Benchmarks -- featurizer-memory [rows]
if (args.Length > 0 && args[0] == TrainingMemoryBenchmark.Command) return TrainingMemoryBenchmark.Run(args[1..]);
if (args.Length > 0 && args[0] == TrainingMemoryBenchmark.ChildCommand) return TrainingMemoryBenchmark.Child(args[1..]);
if (args.Length > 0 && args[0] == FeaturizerMemoryBenchmark.Command) return FeaturizerMemoryBenchmark.Run(args[1..]);
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
