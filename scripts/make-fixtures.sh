#!/usr/bin/env bash
# Generates the parity fixtures from Debian's torchvision (the reference implementation) unless they are already there.
set -euo pipefail
cd "$(dirname "$0")/.."
out=tests/fixtures/generated
stamp="$out/.complete-$(sha256sum scripts/make_parity_fixtures.py | cut -c1-16)"
[ -f "$stamp" ] && exit 0
rm -rf "$out"; mkdir -p "$out"
/usr/bin/python3 scripts/make_parity_fixtures.py "$out"
touch "$stamp"
