#!/usr/bin/env bash
# The Fashion-MNIST end-to-end sample, in one command: the main job (scripts/main-job.sh); see samples/README.md.
set -euo pipefail
exec bash "$(dirname "$0")/../scripts/main-job.sh" "$@"
