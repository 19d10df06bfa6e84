#!/usr/bin/env bash
# Installs everything this repository needs on a fresh Debian 12 machine (apt packages, NuGet restore, Release build)
# and generates the parity fixtures. Safe to run again: each step skips what is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

# python3-torch/torchvision: the reference implementation the parity fixtures come from; python3-onnx: onnx.checker;
# imagemagick: test images; dataset-fashion-mnist: the real data set for training checks and the main job;
# fonts-dejavu-core: the font the training report's charts are labelled with.
packages=(python3-torch python3-torchvision python3-onnx python3-numpy python3-pil imagemagick dataset-fashion-mnist fonts-dejavu-core)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "Installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

dotnet restore EfficientNetML.sln
dotnet build EfficientNetML.sln -c Release --no-restore
bash scripts/make-fixtures.sh
