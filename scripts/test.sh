#!/usr/bin/env bash
# Quick start 2: set up, then run the whole test suite against real SoftHSM2.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec cargo test --workspace --locked
