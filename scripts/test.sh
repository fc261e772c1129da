#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a full test run: installs the
# Debian packages, builds strata (Release) and runs every test through CTest
# (unit tests, the layering check, and e2e tests against the real binary).
# Usage: scripts/test.sh [preset]   (release by default; asan for sanitizers)
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"

scripts/install-deps.sh
echo "strata: building ($preset)..."
scripts/build.sh "$preset"
echo "strata: running tests..."
ctest --preset "$preset" --output-on-failure
