#!/usr/bin/env bash
# The featurizer sample offline, in one command (about 2 minutes on 2 cores): no ImageNet weights can be downloaded
# here, so a small B0 is first trained on Fashion-MNIST classes 0–4 (T-shirt, Trouser, Pullover, Dress, Coat) and its
# features are then used for classes 5–9 (Sandal, Shirt, Sneaker, Bag, Ankle boot), which it has never seen: features
# from one task feeding an ML.NET classifier for another.
set -euo pipefail
cd "$(dirname "$0")/.."
weights=artifacts/sample/source
if [ ! -f "$weights/model.onnx" ]; then
  dotnet run -c Release --project src/EfficientNet.Cli -- train --data fashion-mnist --classes 0,1,2,3,4 --validation-fraction 0 \
    --epochs 2 --batch-size 128 --image-size 32 --augment shift --mean 0.286 --std 0.353 --crop-fraction 1 \
    --lr 3e-3 --schedule one-cycle --warmup 0.15 --from-scratch --output "$weights"
fi
dotnet run -c Release --project samples/FeaturizerSample -- --weights "$weights/model.onnx" --classes 5,6,7,8,9 --per-class 200 "$@"
