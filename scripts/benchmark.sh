#!/usr/bin/env bash
# Runs the side-by-side benchmarks (docs/BENCHMARKS.md). Not a test: absolute times vary, the ratios are what count.
# Usage: bash scripts/benchmark.sh [BenchmarkDotNet arguments, default --filter '*']
set -euo pipefail
cd "$(dirname "$0")/.."
# Real JPEG files with photo-like content: ImageMagick plasma fractals at quality 90, made once per folder.
make_jpegs() { # folder count size seed-prefix
  [ -f "$1/.complete" ] && return
  mkdir -p "$1"
  for i in $(seq -w 0 $(($2 - 1))); do
    convert -size "$3" -seed "$4$i" plasma:fractal -blur 0x0.7 -quality 90 "$1/photo_$i.jpg"
  done
  touch "$1/.complete"
}
images=artifacts/bench-images photos=artifacts/bench-photos
make_jpegs "$images" 160 500x375 1     # the size the baselines used
make_jpegs "$photos" 32 4032x3024 2    # a phone camera's, for reduced-scale decoding (about 5 s each to make)
export EFFICIENTNETML_BENCH_IMAGES="$PWD/$images" EFFICIENTNETML_BENCH_PHOTOS="$PWD/$photos"
args=("$@"); [ ${#args[@]} -gt 0 ] || args=(--filter '*')
dotnet run -c Release --project benchmarks/EfficientNet.Benchmarks -- "${args[@]}"
