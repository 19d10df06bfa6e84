#!/usr/bin/env bash
# Evidence (c): transfer. B0 trained on Fashion-MNIST classes 0–4 (T-shirt, Trouser, Pullover, Dress, Coat), then
# fine-tuned on classes 5–9 (Sandal, Shirt, Sneaker, Bag, Ankle boot) with 50 images per class, against B0 trained
# from scratch on the same 250 images with the same recipe. Test accuracy on the 5,000 test images of classes 5–9.
# The transfer arm fine-tunes everything with batch-norm statistics frozen (batches of 25 are too small to re-estimate
# them) and a new classifier; the scratch arm cannot freeze them. Results: artifacts/evidence/transfer/ (logs,
# summary.md). About 10 minutes. REUSE_SOURCE=1 keeps an existing source model and runs only the two target arms.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=artifacts/evidence/transfer
source scripts/evidence/common.sh
fresh_results "$out" "${REUSE_SOURCE:-0}" source/model.safetensors transfer scratch
common=(--image-size 32 --augment shift --mean 0.286 --std 0.353 --crop-fraction 1 --seed 0)

# 1. Source task: classes 0–4, all 30,000 training images.
[[ -f "$out/source/model.safetensors" ]] || $cli train --data fashion-mnist --classes 0,1,2,3,4 --validation fashion-mnist-test --epochs 6 --batch-size 128 \
  --lr 3e-3 --schedule one-cycle --warmup 0.15 "${common[@]}" --from-scratch --output "$out/source" > "$out/source.log" 2>&1

# 2. Target task: classes 5–9, 50 images per class; the same schedule for both arms.
target=(--data fashion-mnist --classes 5,6,7,8,9 --per-class 50 --validation fashion-mnist-test --validation-fraction 0
        --epochs 30 --batch-size 25 --schedule cosine --warmup 0.1 "${common[@]}")
$cli train "${target[@]}" --weights "$out/source/model.safetensors" --freeze-bn --lr 3e-3 --backbone-lr 3e-4 --output "$out/transfer" > "$out/transfer.log" 2>&1
$cli train "${target[@]}" --lr 3e-3 --from-scratch --output "$out/scratch" > "$out/scratch.log" 2>&1

{
  echo "| run | training images | test accuracy, last epoch | best test accuracy (epoch) |"
  echo "|---|---|---|---|"
  for run in source transfer scratch; do
    /usr/bin/python3 -c "
import json
s = json.load(open('$out/$run/training.json'))
print('| $run | %d | %.2f %% | %.2f %% (%d) |' % (s['trainImages'], s['history'][-1]['ValidationAccuracy'] * 100, s['bestAccuracy'] * 100, s['bestEpoch']))"
  done
} > "$out/summary.md"
cat "$out/summary.md"
