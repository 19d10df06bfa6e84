#!/usr/bin/env bash
# Records a deliberate change to a library's public surface: builds the libraries, takes every symbol the
# PublicApiAnalyzers report as undeclared (RS0016) and appends it to that library's PublicAPI.Unshipped.txt.
# Removed symbols (RS0017) are listed for the author to delete by hand: a removal breaks users and is a decision.
# The IDE code fix does the same; this is for the command line.
set -euo pipefail
cd "$(dirname "$0")/.."
for lib in src/Microsoft.ML.EfficientNet src/EfficientNet.Training; do
  log=$(dotnet build "$lib" -c Release --no-incremental 2>&1 || true)
  added=$(echo "$log" | grep -o "RS0016: Symbol '.*' is not part of the declared public API" |
    sed -E "s/^RS0016: Symbol '(.*)' is not part of the declared public API$/\1/" | sort -u || true)
  if [ -n "$added" ]; then
    echo "$added" >> "$lib/PublicAPI.Unshipped.txt"
    echo "$lib: $(echo "$added" | wc -l) symbols added to PublicAPI.Unshipped.txt"
  fi
  echo "$log" | grep -o "RS0017: Symbol '.*' is part of the declared API, but is either not public or could not be found" | sort -u |
    sed -E "s/^RS0017: Symbol '(.*)' is part.*/$(basename "$lib"): remove by hand: \1/" || true
done
