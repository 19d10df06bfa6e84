#!/usr/bin/env bash
# Serves a model over HTTP with batching across requests (samples/WebService, samples/README.md):
#   bash samples/web-service.sh --model PATH [--port N] [--max-batch N] [--max-wait-ms N] [--max-body-mb N] [--queue N] [--threads N]
# PATH is a run folder of efficientnet train, a model.onnx, or an ML.NET model.zip the EfficientNet trainer saved.
# Listens on 127.0.0.1 (default port 5080); Ctrl+C stops it after the accepted requests are answered.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build samples/WebService -c Release -nologo -v quiet >&2
exec dotnet samples/WebService/bin/Release/net10.0/linux-x64/WebService.dll "$@"
