#!/usr/bin/env bash
# Build tapir and run its demo (README: "See it work").  Needs root: the demo
# creates its own network namespace and TUN device, and removes them after.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build -j "$(nproc)" >/dev/null
exec build/bin/tapir demo "$@"
