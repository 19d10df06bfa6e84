#!/usr/bin/env bash
# Runs every test assembly of the solution, one after another (they share two cores with native thread pools),
# and ends with one line that CI reads: "N passed, N failed" plus ", N skipped" when any were skipped.
# Exits non-zero when any test failed or any test assembly did not report.
set -uo pipefail
cd "$(dirname "$0")/.."

# Tests keep what they cache (exported ONNX models among it) in the build's own folder, not in the user's cache.
# libtorch's OpenMP threads spin while they wait; on a shared 2-core host that made one training epoch 14x slower
# (252 s against 18 s with passive waiting, the same losses).
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
export EFFICIENTNETML_CACHE="${EFFICIENTNETML_CACHE:-$PWD/artifacts/cache}"

bash scripts/make-fixtures.sh || { echo "0 passed, 1 failed"; exit 1; }

results=artifacts/test-results
rm -rf "$results"; mkdir -p "$results"
passed=0; failed=0; skipped=0
for project in tests/*/*.Tests.csproj; do
  name=$(basename "$project" .csproj)
  dotnet test "$project" -c Release --logger "trx;LogFileName=$name.trx" --results-directory "$results"
  code=$?
  trx="$results/$name.trx"
  if [ ! -f "$trx" ]; then
    echo "error: $name produced no test results (exit code $code)"; failed=$((failed + 1)); continue
  fi
  counters=$(grep -o '<Counters [^>]*>' "$trx")
  count() { echo "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*' || echo 0; }
  p=$(count passed); f=$(( $(count failed) + $(count error) + $(count timeout) + $(count aborted) ))
  s=$(( $(count notExecuted) + $(count inconclusive) ))
  if [ "$code" -ne 0 ] && [ "$f" -eq 0 ]; then
    echo "error: $name exited with code $code but reported no failed test; counting it as one failure"; f=1
  fi
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
done

summary="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && summary="$summary, $skipped skipped"
echo "$summary"
[ "$failed" -eq 0 ]
