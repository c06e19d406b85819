#!/usr/bin/env bash
# Installs what keyceremony's rehearsals and tests need on a fresh Debian
# machine (run as root, or with sudo available). Safe to run again.
set -euo pipefail

need=()
command -v softhsm2-util >/dev/null 2>&1 || need+=(softhsm2)
command -v pkcs11-tool >/dev/null 2>&1 || need+=(opensc)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
[ -e /usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so ] || [ -e /usr/lib/aarch64-linux-gnu/engines-3/pkcs11.so ] \
  || need+=(libengine-pkcs11-openssl)
# p11-kit's trust module: a real PKCS#11 module whose read-only token lacks
# what a ceremony needs, for the tests of `module check` (tests/kryoptic.rs).
[ -e /usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-trust.so ] || [ -e /usr/lib/aarch64-linux-gnu/pkcs11/p11-kit-trust.so ] \
  || need+=(p11-kit-modules)
# Headless Chromium: the report tests render the HTML report and paper script
# and check the screenshot (tests/report.rs).
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# Network namespaces for the CPS 6.7 tests (tests/ceremony.rs).
command -v ip >/dev/null 2>&1 || need+=(iproute2)
# jq and xxd: the auditor's by-hand log checks (docs/auditor.md), which
# tests/report.rs runs as written.
command -v jq >/dev/null 2>&1 || need+=(jq)
command -v xxd >/dev/null 2>&1 || need+=(xxd)
# GNU time: the peak-memory benchmark (docs/performance.md).
[ -x /usr/bin/time ] || need+=(time)

# pkilint, the independent certificate linter of the policy tests (docs/policy.md),
# pinned and in a virtual environment of its own at a fixed path, where the tests
# also look for it. Installed only when its linter is neither on PATH nor there;
# python3 and its venv module come from apt when missing.
PKILINT_VERSION=0.13.3
PKILINT_VENV=/opt/keyceremony-pkilint
need_pkilint=0
if ! command -v lint_cabf_serverauth_cert >/dev/null 2>&1 \
  && [ ! -x "$PKILINT_VENV/bin/lint_cabf_serverauth_cert" ]; then
  need_pkilint=1
  python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need+=(python3 python3-venv)
fi

# kryoptic, the second PKCS#11 module of the tests (docs/supported-modules.md):
# its PKCS#11 library built from its crate, at a pinned version, into a fixed
# folder where the tests look for it (KEYCEREMONY_KRYOPTIC_MODULE names
# another build, and then nothing is built). Built only when that folder does
# not hold this version. Debian 12's OpenSSL 3.0 cannot build the default
# features (EdDSA needs 3.2); the minimal set (sqlite storage, AES, RSA, ECDSA
# on the NIST curves, SHA-2) linked to the system libcrypto is all a ceremony
# uses.
KRYOPTIC_VERSION=1.5.4
KRYOPTIC_DIR=/opt/keyceremony-kryoptic
need_kryoptic=0
if [ -z "${KEYCEREMONY_KRYOPTIC_MODULE:-}" ] \
  && { [ ! -f "$KRYOPTIC_DIR/libkryoptic_pkcs11.so" ] \
    || [ "$(cat "$KRYOPTIC_DIR/VERSION" 2>/dev/null)" != "$KRYOPTIC_VERSION" ]; }; then
  need_kryoptic=1
  for package in build-essential pkg-config libssl-dev libsqlite3-dev libclang-dev; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' \
      || need+=("$package")
  done
fi

if ((${#need[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

if ((need_pkilint)); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing pkilint $PKILINT_VERSION into $PKILINT_VENV"
  $sudo python3 -m venv "$PKILINT_VENV"
  $sudo "$PKILINT_VENV/bin/pip" install -q --disable-pip-version-check "pkilint==$PKILINT_VERSION"
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo not found: install the Rust toolchain (rustup) first" >&2
  exit 1
fi

# rust-toolchain.toml pins the toolchain by its version. A machine whose
# rustup has that version only as its "stable" toolchain (and no network to
# fetch it by name) gets the version as a link to it, so cargo does not try
# to download what is already installed. `+stable` calls bypass the pin.
PINNED_TOOLCHAIN="$(sed -n 's/^channel = "\(.*\)"$/\1/p' "$(dirname "$0")/../rust-toolchain.toml")"
if command -v rustup >/dev/null 2>&1 \
  && ! rustup toolchain list | grep -q "^$PINNED_TOOLCHAIN-"; then
  if [ "$(rustc +stable --version 2>/dev/null | cut -d' ' -f2)" = "$PINNED_TOOLCHAIN" ]; then
    host="$(rustc +stable -vV | sed -n 's/^host: //p')"
    echo "setup: rustup's stable toolchain is Rust $PINNED_TOOLCHAIN; linking it under that name"
    ln -s "$(rustc +stable --print sysroot)" "${RUSTUP_HOME:-$HOME/.rustup}/toolchains/$PINNED_TOOLCHAIN-$host"
  else
    echo "setup: rust-toolchain.toml pins Rust $PINNED_TOOLCHAIN: install it (rustup toolchain install $PINNED_TOOLCHAIN)" >&2
    exit 1
  fi
fi

if ((need_kryoptic)); then
  echo "setup: building kryoptic $KRYOPTIC_VERSION's PKCS#11 module into $KRYOPTIC_DIR (about 2 minutes)"
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  # A throwaway package that depends on the pinned crate makes cargo unpack
  # it into its registry; it is built from a copy, with its own lockfile.
  mkdir -p "$work/fetch/src"
  : >"$work/fetch/src/lib.rs"
  cat >"$work/fetch/Cargo.toml" <<EOF
[package]
name = "keyceremony-kryoptic-fetch"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
kryoptic = { version = "=$KRYOPTIC_VERSION", default-features = false }

[workspace]
EOF
  if ! cargo fetch --quiet --manifest-path "$work/fetch/Cargo.toml" >"$work/build.log" 2>&1; then
    cat "$work/build.log" >&2
    echo "setup: cannot fetch the kryoptic $KRYOPTIC_VERSION crate" >&2
    exit 1
  fi
  source_dir="$(find "${CARGO_HOME:-$HOME/.cargo}/registry/src" -mindepth 2 -maxdepth 2 \
    -type d -name "kryoptic-$KRYOPTIC_VERSION" | head -n 1)"
  if [ -z "$source_dir" ]; then
    echo "setup: cargo fetched kryoptic $KRYOPTIC_VERSION, but its source is not in cargo's registry folder" >&2
    exit 1
  fi
  cp -R "$source_dir" "$work/kryoptic"
  if ! cargo build --release --locked --manifest-path "$work/kryoptic/Cargo.toml" \
    --target-dir "$work/target" --no-default-features \
    --features minimal,kryoptic-lib/dynamic >"$work/build.log" 2>&1; then
    tail -n 40 "$work/build.log" >&2
    echo "setup: building kryoptic $KRYOPTIC_VERSION failed (the last lines of its build are above)" >&2
    exit 1
  fi
  mkdir -p "$KRYOPTIC_DIR"
  install -m 0644 "$work/target/release/libkryoptic_pkcs11.so" "$KRYOPTIC_DIR/libkryoptic_pkcs11.so"
  echo "$KRYOPTIC_VERSION" >"$KRYOPTIC_DIR/VERSION"
  rm -rf "$work"
  trap - EXIT
fi
