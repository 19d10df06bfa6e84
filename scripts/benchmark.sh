#!/usr/bin/env bash
# Runs the side-by-side benchmarks (docs/BENCHMARKS.md). Not a test: absolute times vary, the ratios are what count.
# Usage: bash scripts/benchmark.sh [BenchmarkDotNet arguments, default --filter '*']
set -euo pipefail
cd "$(dirname "$0")/.."
images=artifacts/bench-images
if [ ! -f "$images/.complete" ]; then
  # Real JPEG files with photo-like content: ImageMagick plasma fractals, 500x375 (the size the baselines used), quality 90.
  mkdir -p "$images"
  for i in $(seq -w 0 159); do
    convert -size 500x375 -seed "1$i" plasma:fractal -blur 0x0.7 -quality 90 "$images/photo_$i.jpg"
  done
  touch "$images/.complete"
fi
export EFFICIENTNETML_BENCH_IMAGES="$PWD/$images"
args=("$@"); [ ${#args[@]} -gt 0 ] || args=(--filter '*')
dotnet run -c Release --project benchmarks/EfficientNet.Benchmarks -- "${args[@]}"
