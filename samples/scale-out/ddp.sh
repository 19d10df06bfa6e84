#!/usr/bin/env bash
# Fine-tunes a run folder's model.safetensors with PyTorch DistributedDataParallel (gloo, CPU, one process per rank, the
# run's training images sharded by DistributedSampler) and writes OUT/model.safetensors with torchvision's key names and
# the run's recipe metadata, which this library takes back:
#
#   bash samples/scale-out/ddp.sh --run RUN_DIR --output OUT [--processes 2] [--epochs N]
#        [--batch-size 32] [--lr 3e-4] [--seed 0]
#   efficientnet export --weights OUT/model.safetensors --output OUT/model.onnx
#   efficientnet evaluate --model OUT --data IMAGES
#
# The training is ddp.py beside this script (Python: DDP is PyTorch's engine). It runs on Debian's python3-torch,
# python3-torchvision, python3-numpy and python3-pil (bash scripts/setup.sh installs them), through /usr/bin/python3
# because an interpreter earlier on PATH (pyenv, a venv) may not see Debian's packages; PYTHON names another one.
set -euo pipefail
exec "${PYTHON:-/usr/bin/python3}" "$(dirname "$0")/ddp.py" "$@"
