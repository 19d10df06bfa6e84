#!/usr/bin/env bash
# Installs everything this repository needs on a fresh Debian 12 machine (apt packages, NuGet restore, Release build,
# the `efficientnet` command as a global .NET tool on the PATH of login shells) and generates the parity fixtures.
# Safe to run again: each step skips what is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

# python3-torch/torchvision: the reference implementation the parity fixtures come from; python3-onnx: onnx.checker;
# imagemagick: test images; dataset-fashion-mnist: the real data set for training checks and the main job;
# fonts-dejavu-core: the font the training report's charts are labelled with; chromium: the web service's page driven
# headless in its tests; hey: the web service's load measurement (samples/load-test.sh).
packages=(python3-torch python3-torchvision python3-onnx python3-numpy python3-pil imagemagick dataset-fashion-mnist fonts-dejavu-core chromium hey)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

dotnet restore EfficientNetML.sln
dotnet build EfficientNetML.sln -c Release --no-restore

# The `efficientnet` command as a global .NET tool, so the commands in the docs run as written from any folder: the
# Release build above, packed (its linux-x64 publish folder, natives included) into artifacts/packages and installed
# from there. Skipped when the installed tool's assemblies and dependency list equal the build's, so a rerun with no
# change costs a second instead of a minute of packing.
tools="$HOME/.dotnet/tools"
built=src/EfficientNet.Cli/bin/Release/net10.0/linux-x64
fingerprint() { (cd "$1" 2>/dev/null && sha256sum -- *.dll efficientnet.deps.json 2>/dev/null | sha256sum); }
installed=""
[ -e "$tools/efficientnet" ] && installed=$(dirname "$(readlink -f "$tools/efficientnet")")
if [ -n "$installed" ] && [ "$(fingerprint "$installed")" = "$(fingerprint "$built")" ]; then
  echo "efficientnet tool: up to date ($installed)"
else
  rm -f artifacts/packages/efficientnet.*.nupkg
  dotnet pack src/EfficientNet.Cli -c Release --no-build --no-restore -o artifacts/packages
  # `dotnet tool update` keeps an installed tool of the same version ("is already installed") however its package
  # changed, so a rebuilt tool of an unchanged version is uninstalled first.
  if dotnet tool list --global | awk '$1 == "efficientnet" { found = 1 } END { exit !found }'; then
    dotnet tool uninstall --global efficientnet
  fi
  # (PATH: the tools folder is put on login shells' PATH below; without it here, dotnet prints how to add it itself.)
  PATH="$PATH:$tools" dotnet tool update --global --configfile build/tool-install.nuget.config --add-source artifacts/packages efficientnet
fi

# Login shells find global .NET tools: ~/.dotnet/tools on their PATH (every user's own), and DOTNET_ROOT for the tool's
# launcher when dotnet is not where the launcher looks by default. /etc/profile reads /etc/profile.d/*.sh for every
# login shell; the file is written only when its content differs, so a rerun changes nothing.
dotnet_root=$(dirname "$(readlink -f "$(command -v dotnet)")")
profile=/etc/profile.d/dotnet-tools-path.sh
profile_text="# Written by EfficientNetML's scripts/setup.sh: global .NET tools (efficientnet) on the PATH of login shells.
case \":\$PATH:\" in *\":\$HOME/.dotnet/tools:\"*) ;; *) export PATH=\"\$PATH:\$HOME/.dotnet/tools\" ;; esac
if [ -z \"\${DOTNET_ROOT:-}\" ] && [ -x \"$dotnet_root/dotnet\" ]; then export DOTNET_ROOT=\"$dotnet_root\"; fi"
if [ "$(cat "$profile" 2>/dev/null)" != "$profile_text" ]; then
  echo "Writing $profile"
  printf '%s\n' "$profile_text" | $sudo tee "$profile" >/dev/null
fi

bash scripts/make-fixtures.sh
