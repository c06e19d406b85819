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

if ((${#need[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo not found: install the Rust toolchain (rustup) first" >&2
  exit 1
fi
