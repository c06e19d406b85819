#!/usr/bin/env bash
# Quick start 1: set up, build, and rehearse the shipped ceremonies in a
# throwaway SoftHSM2 lab. Usage: scripts/rehearse.sh [OUT-DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
out="${1:-rehearsal-$(date -u +%Y%m%dT%H%M%SZ)}"
exec cargo run --release --locked --quiet -p keyceremony -- rehearse --headless --out "$out"
