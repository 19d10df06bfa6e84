#!/usr/bin/env bash
# Evidence (a): the PyTorch anchor and this library's same recipe, side by side on this machine, one after the other.
# Recipe: torchvision B0 from scratch on Fashion-MNIST at 32 px, batch 128, AdamW 3e-3, weight decay 0.05 on all
# parameters, one-cycle with 15 % warm-up, label smoothing 0.1, random flip + 2-pixel shift, channels-last, 10 epochs,
# test accuracy after every epoch. Results: artifacts/evidence/parity/ (logs, summary.md). About 65 minutes.
# Usage: bash scripts/evidence/fashion-mnist-parity.sh [EPOCHS]   (ANCHOR= path of fashion_mnist_torchvision.py;
#        REUSE_ANCHOR=1 keeps an earlier pytorch.log from this machine and runs only this library's side)
set -euo pipefail
cd "$(dirname "$0")/../.."
epochs=${1:-10}
anchor=${ANCHOR:-../shared/anchors/fashion_mnist_torchvision.py}
out=artifacts/evidence/parity
source scripts/evidence/common.sh
fresh_results "$out" "${REUSE_ANCHOR:-0}" pytorch.log run efficientnetml.log

if [[ ! -s "$out/pytorch.log" ]]; then
  start=$(date +%s)
  /usr/bin/python3 "$anchor" "$epochs" 32 128 > "$out/pytorch.log" 2>&1
  echo "process seconds $(( $(date +%s) - start ))" >> "$out/pytorch.log"
fi
pytorch_seconds=$(grep -o 'process seconds [0-9]*' "$out/pytorch.log" | awk '{print $3}' || true)
pytorch_seconds=${pytorch_seconds:-n/a}

start=$(date +%s)
# A run that dies part-way resumes from its last epoch checkpoint (the log keeps every attempt).
for attempt in 1 2 3; do
  $cli train --data fashion-mnist --validation fashion-mnist-test --epochs "$epochs" --batch-size 128 --image-size 32 \
    --augment shift --shift 2 --mean 0.286 --std 0.353 --crop-fraction 1 --optimizer adamw --lr 3e-3 --weight-decay 0.05 \
    --decay-norm-and-bias --schedule one-cycle --warmup 0.15 --label-smoothing 0.1 --seed 0 --from-scratch --output "$out/run" >> "$out/efficientnetml.log" 2>&1 && break
  echo "attempt $attempt failed; resuming" >> "$out/efficientnetml.log"
done
ours_seconds=$(( $(date +%s) - start ))

{
  echo "| epoch | PyTorch 1.13 test accuracy | PyTorch wall (s) | EfficientNetML test accuracy | EfficientNetML wall (s) |"
  echo "|---|---|---|---|---|"
  paste <(grep -o 'epoch [0-9]*: test accuracy [0-9.]* after [0-9]*s' "$out/pytorch.log" | awk '{printf "%s|%.2f|%s\n", $2, $5*100, $7}' | tr -d ':s') \
        <(/usr/bin/python3 -c "
import json
h = json.load(open('$out/run/training.json'))['history']
t = 0
for e in h:
    t += e['Seconds']
    print('%.2f|%.0f' % (e['ValidationAccuracy'] * 100, t))") \
    | awk -F'[|\t]' '{printf "| %s | %s %% | %s | %s %% | %s |\n", $1, $2, $3, $4, $5}'
  echo
  py_train=$(grep -o 'after [0-9]*s' "$out/pytorch.log" | tail -1 | tr -dc 0-9)
  ours_train=$(/usr/bin/python3 -c "import json; print(round(sum(e['Seconds'] for e in json.load(open('$out/run/training.json'))['history'])))")
  echo "Training time (data loaded, through the last test evaluation): PyTorch ${py_train} s, EfficientNetML ${ours_train} s, ratio $(awk "BEGIN {printf \"%.2f\", $ours_train / $py_train}")."
  echo "Whole runs (process start to exit, including data loading): PyTorch ${pytorch_seconds} s, EfficientNetML ${ours_seconds} s."
} > "$out/summary.md"
cat "$out/summary.md"
