#!/usr/bin/env bash
# Builds the release binary, target/release/keyceremony, from this source tree
# (a git checkout, or the source bundle scripts/release.sh makes), and prints
# its SHA-256. Two runs on the same commit give the same bytes, whatever
# folder the tree is in and whatever cargo home is used: every path rustc
# could write into the binary is remapped to a fixed name, the source folder
# to /keyceremony and each dependency's folder (cargo's registry in a
# checkout, vendor/ in the bundle) to /crates.io/NAME-VERSION. The same
# toolchain (rust-toolchain.toml) and the same C linker and libc are the
# other half (BUILD-INFO of the release names them). docs/auditor.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export LC_ALL=C

root=$(pwd -P)

# SOURCE_DATE_EPOCH is the commit's time: in the bundle, from what `git
# archive` wrote into COMMIT ("<commit> <commit time>"; crates/engine/build.rs
# reads the commit there too); in a checkout, from git.
read -r commit SOURCE_DATE_EPOCH < crates/engine/COMMIT
if ! [[ $commit =~ ^[0-9a-f]{40}$ && $SOURCE_DATE_EPOCH =~ ^[0-9]+$ ]]; then
  if ! SOURCE_DATE_EPOCH=$(git -C "$root" log -1 --format=%ct 2>/dev/null); then
    echo "build-release: $root is neither a git checkout nor a release source bundle" \
      "(crates/engine/COMMIT holds no commit); build from a clone or from" \
      "keyceremony-VERSION-src.tar.gz" >&2
    exit 1
  fi
fi
export SOURCE_DATE_EPOCH

# Every dependency's folder as cargo resolves it (`cargo metadata`, which
# also unpacks a registry's copy that is not there yet): NAME-VERSION folders
# in cargo's registry in a checkout, in vendor/ in the bundle.
host=$(rustc -vV | sed -n 's/^host: //p')
dependency_folders=$(cargo metadata --locked --format-version 1 --filter-platform "$host" \
  | grep -o '"manifest_path":"[^"]*"' \
  | sed 's|^"manifest_path":"\(.*\)/[^/]*/Cargo.toml"$|\1|' \
  | grep -vxF "$root/crates" | sort -u)
# rustc applies the last remapping that matches, so the dependencies' come
# after the source folder's (vendor/ is inside it). The standard library's
# sources are /rustc/HASH already; should the toolchain's folder appear (a
# local rust-src), it is remapped too.
flags=(
  "--remap-path-prefix=$root=/keyceremony"
  "--remap-path-prefix=$(rustc --print sysroot)=/rust"
)
while IFS= read -r folder; do
  flags+=("--remap-path-prefix=$folder=/crates.io")
done <<< "$dependency_folders"

# Nothing from the caller's environment changes what rustc is asked to do.
unset RUSTFLAGS CARGO_BUILD_RUSTFLAGS RUSTC_WRAPPER CARGO_BUILD_RUSTC_WRAPPER \
  RUSTC_WORKSPACE_WRAPPER CARGO_BUILD_TARGET CARGO_PROFILE_RELEASE_DEBUG \
  CARGO_PROFILE_RELEASE_STRIP CARGO_PROFILE_RELEASE_CODEGEN_UNITS CARGO_PROFILE_RELEASE_LTO
export CARGO_TARGET_DIR="$root/target"
CARGO_ENCODED_RUSTFLAGS=$(IFS=$'\x1f'; printf '%s' "${flags[*]}")
export CARGO_ENCODED_RUSTFLAGS

cargo build --release --locked -p keyceremony --bin keyceremony >&2
sha256sum target/release/keyceremony
