#!/usr/bin/env bash
# Evidence (b): the highest Fashion-MNIST test accuracy this library reaches in at most 45 minutes on this machine,
# with its own options (resolution, schedule, EMA, augmentation). The recipe below is the one chosen after short probes
# (docs/TRAINING.md). Results: artifacts/evidence/best/ (log, training.json, summary.md).
# Usage: bash scripts/evidence/fashion-mnist-best.sh [IMAGE_SIZE] [EPOCHS]
set -euo pipefail
cd "$(dirname "$0")/../.."
size=${1:-48}
epochs=${2:-13}
out=artifacts/evidence/best
source scripts/evidence/common.sh
fresh_results "$out"
start=$(date +%s)
$cli train --data fashion-mnist --validation fashion-mnist-test --epochs "$epochs" --batch-size 128 --image-size "$size" \
  --augment shift --shift $(( size / 14 )) --mean 0.286 --std 0.353 --crop-fraction 1 --optimizer adamw --lr 3e-3 \
  --weight-decay 0.05 --schedule one-cycle --warmup 0.15 --label-smoothing 0.1 --ema 0.999 --seed 0 --from-scratch \
  --output "$out/run" > "$out/train.log" 2>&1
seconds=$(( $(date +%s) - start ))
/usr/bin/python3 -c "
import json
s = json.load(open('$out/run/training.json'))
t = 0
print('| epoch | test accuracy | elapsed (s) |')
print('|---|---|---|')
for e in s['history']:
    t += e['Seconds']
    print('| %d | %.2f %% | %.0f |' % (e['epoch'], e['ValidationAccuracy'] * 100, t))
print()
print('B0 at $size px, $epochs epochs: best test accuracy %.2f %% (epoch %d); whole run %d s.' % (s['bestAccuracy'] * 100, s['bestEpoch'], $seconds))
" > "$out/summary.md"
cat "$out/summary.md"
