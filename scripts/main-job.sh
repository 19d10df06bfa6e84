#!/usr/bin/env bash
# The main job (README's first command runs it after scripts/setup.sh): EfficientNet-B0 trained from scratch on
# Fashion-MNIST with the ML.NET trainer, exported to ONNX, saved as an ML.NET zip, loaded back with plain ML.NET and
# evaluated on the 10,000 test images; prints the accuracy and confusion matrix and where the model, plots and report
# are (artifacts/main-job/). samples/FashionMnistEndToEnd/Program.cs is the program; options pass through
# (--per-class N, --epochs N, --batch-size N, --image-size N, --lr X, --output DIR). Run again after `rm -rf artifacts/main-job` to start from scratch;
# otherwise the finished run is reused.
set -euo pipefail
cd "$(dirname "$0")/.."
dll=samples/FashionMnistEndToEnd/bin/Release/net10.0/linux-x64/FashionMnistEndToEnd.dll
[ -f "$dll" ] || dotnet build samples/FashionMnistEndToEnd -c Release
exec dotnet "$dll" "$@"
