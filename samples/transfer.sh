#!/usr/bin/env bash
# Transfer learning shown on real data without ImageNet weights (none can be downloaded on this project's machines):
# EfficientNet-B0 is first trained on seven Fashion-MNIST classes (the stand-in for ImageNet pretraining), then
# fine-tuned on the three other classes (Trouser, Sandal, Bag) with 30 training images each, beside the same fine-tune
# started from scratch. Prints the test accuracy of both on the 3,000 test images of the three classes:
#
#   from pretrained: accuracy NN.NN %
#   from scratch: accuracy NN.NN %
#
# then the chance warning of any run that learned nothing beyond chance. About 2.5 minutes on 2 cores; files under
# artifacts/sample/transfer (the source model is reused by a second run; rm -rf the folder to start over).
set -euo pipefail
cd "$(dirname "$0")/.."
cli=(dotnet src/EfficientNet.Cli/bin/Release/net10.0/linux-x64/efficientnet.dll)
[ -f "${cli[1]}" ] || dotnet build src/EfficientNet.Cli -c Release >/dev/null
out=artifacts/sample/transfer
mkdir -p "$out"
# Fashion-MNIST's 28 px images padded to 32 px with the data set's own mean and std, no crop.
common=(--image-size 32 --mean 0.286 --std 0.353 --crop-fraction 1 --seed 0)

# 1. The "pretrained" weights: seven classes, 1,500 images each, two epochs.
if [ ! -f "$out/source/model.safetensors" ]; then
  "${cli[@]}" train --data fashion-mnist --classes 0,2,3,4,6,7,9 --per-class 1500 --epochs 2 --batch-size 128 \
    --lr 3e-3 --schedule one-cycle --warmup 0.15 --augment shift --validation-fraction 0.02 --from-scratch \
    "${common[@]}" --output "$out/source" > "$out/source.log" 2>&1 || { cat "$out/source.log"; exit 1; }
fi

# 2. The same fine-tune twice on 30 images per class: from the source weights (new classifier) and from scratch.
target=(--data fashion-mnist --classes 1,5,8 --per-class 30 --validation-fraction 0 --epochs 15 --batch-size 15
        --lr 3e-3 --augment shift --no-resume "${common[@]}")
rm -rf "$out/pretrained" "$out/scratch"
"${cli[@]}" train "${target[@]}" --weights "$out/source/model.safetensors" --freeze-bn --output "$out/pretrained" \
  > "$out/pretrained.log" 2>&1 || { cat "$out/pretrained.log"; exit 1; }
"${cli[@]}" train "${target[@]}" --from-scratch --output "$out/scratch" > "$out/scratch.log" 2>&1 || { cat "$out/scratch.log"; exit 1; }

# 3. Both on the test images of the three classes.
for arm in pretrained scratch; do
  "${cli[@]}" evaluate --model "$out/$arm" --data fashion-mnist-test --classes 1,5,8 > "$out/$arm.evaluation.txt" 2>&1 \
    || { cat "$out/$arm.evaluation.txt"; exit 1; }
done
for arm in pretrained scratch; do
  accuracy=$(grep -o -m1 'accuracy [0-9.]* %' "$out/$arm.evaluation.txt")
  echo "from $arm: $accuracy"
done
for arm in pretrained scratch; do
  grep -h -m1 'At chance' "$out/$arm.evaluation.txt" | sed "s/^/from $arm: /" || true
done
