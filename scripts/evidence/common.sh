# Sourced by the evidence scripts, from the repository root: the built CLI and the results folder.
cli="dotnet src/EfficientNet.Cli/bin/Release/net10.0/linux-x64/efficientnet.dll"

# fresh_results OUT [REUSE KEPT REMOVED...]: starts OUT empty, unless REUSE is 1 and OUT/KEPT (an earlier result worth
# keeping, such as the PyTorch side's log) exists; then only the REMOVED paths under OUT are deleted.
fresh_results() {
  local out=$1 reuse=${2:-0} kept=${3:-}
  shift $(( $# < 3 ? $# : 3 ))
  if [[ "$reuse" == 1 && -n "$kept" && -s "$out/$kept" ]]; then
    (cd "$out" && rm -rf "$@")
  else
    rm -rf "$out"; mkdir -p "$out"
  fi
}
