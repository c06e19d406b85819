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
