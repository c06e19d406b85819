#!/usr/bin/env bash
# Quick start 2: set up, then run the whole test suite against real SoftHSM2,
# then the release check: a release of this commit is rebuilt bit for bit
# from its source bundle, as docs/auditor.md tells the auditor to (two
# release builds, a few minutes), then a bounded run of the fuzz targets
# (fuzz/README.md): 200,000 generated inputs per target on stable Rust,
# about a minute after its build.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo test --workspace --locked
bash scripts/check-release.sh
cd fuzz
KC_FUZZ_ITERATIONS=200000 exec cargo test --release --locked
