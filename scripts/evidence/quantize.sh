#!/usr/bin/env bash
# Evidence for the int8 defaults: post-training quantisation of a Fashion-MNIST model from `efficientnet train`.
# Trains B0 on 3,000 images per class (10 classes, 32 px, 8 epochs; about 15 minutes on 2 cores) unless MODEL names an
# existing run folder, then quantises it with every calibration method and layer set on 256 training images and
# evaluates each int8 model and the fp32 model on the 10,000 Fashion-MNIST test images. The target: at most 1.0 point
# below fp32. Results: artifacts/evidence/quantize/ (logs, summary.md). About 4 minutes once the model exists.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=artifacts/evidence/quantize
source scripts/evidence/common.sh
mkdir -p "$out"
model=${MODEL:-$out/run}
[[ -f "$model/model.onnx" ]] || $cli train --data fashion-mnist --per-class 3000 --validation fashion-mnist-test --image-size 32 --epochs 8 \
  --batch-size 64 --lr 0.003 --crop-fraction 1 --augment light --from-scratch --output "$model" > "$out/train.log" 2>&1

accuracy() { $cli evaluate --model "$1" --data fashion-mnist-test --json | /usr/bin/python3 -c "import json, sys; print('%.2f' % (100 * json.load(sys.stdin)['accuracy']))"; }
fp32=$(accuracy "$model")
{
  echo "fp32 test accuracy: $fp32 % (10,000 images)"
  echo
  echo "| layers | ranges | agreement with fp32 (256 calibration images) | int8 test accuracy | vs fp32 | MB |"
  echo "|---|---|---|---|---|---|"
  for layers in convolutions convolutions,activations,residuals convolutions,activations,squeeze-excitation,residuals all; do
    for method in minmax percentile entropy; do
      file="$out/int8-${layers//,/-}-$method.onnx"
      $cli quantize --model "$model" --calibration fashion-mnist --count 256 --layers "$layers" --method "$method" --output "$file" --json \
        > "$out/quantize-${layers//,/-}-$method.json" 2>> "$out/quantize.log"
      int8=$(accuracy "$file")
      /usr/bin/python3 -c "
import json
r = json.load(open('$out/quantize-${layers//,/-}-$method.json'))
print('| $layers | $method | %.2f %% | $int8 %% | %+.2f | %.1f |' % (100 * r['top1Agreement'], $int8 - $fp32, r['bytesAfter'] / 1048576))"
      rm -f "$file"
    done
  done
} > "$out/summary.md"
cat "$out/summary.md"
