#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls exactly this).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
# Build once (products and tests), then run without rebuilding: the multi-process
# tests start the licensed and licensectl binaries this build produced.
swift build --build-tests
swift test --skip-build --parallel --num-workers 2 "$@"
