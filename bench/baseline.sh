#!/usr/bin/env bash
# The baseline for docs/performance.md: the PKCS#11 work of a key ceremony
# (ceremony-scripts/root-p384.toml or root-rsa4096.toml), done by hand with
# stock tools on a SoftHSM2 lab made by `keyceremony lab create`:
#
#   the witness's key looked for on their token (no login);
#   a token initialised with a transient SO PIN; the SO and user PINs drawn
#     from the token's generator and set (C_GenerateRandom, C_SetPIN,
#     C_InitPIN);
#   the P-384 log-signing key generated;
#   the root key pair generated, and every object's attributes read (the
#     public key's too);
#   the self-signed root certificate, SHA-384, signed through OpenSSL's
#     PKCS#11 engine;
#   a checkpoint at the end of each step the token is logged in for (login,
#     generate-key, self-sign, export): a statement signed by the
#     log-signing key (ECDSA over SHA-384), four in all;
#   the seal statement signed by the log-signing key and by the witness's key
#     on their own token (ECDSA over SHA-384).
#
# Each tool that uses a key or a PIN logs in on its own: thirteen logins
# against the ceremony's six. The root key is made without
# CKA_ALWAYS_AUTHENTICATE (OpenSSL's engine would ask for its PIN on the
# terminal), so its signature needs no context-specific login: one C_Login
# fewer, and three more for the stock tools anyway. What only keyceremony does
# (the shares, the log and its fsyncs, the checks, the report) is not here:
# that is the overhead the benchmark measures.
#
# Usage: bench/baseline.sh p384|rsa4096 OUT_DIR
# Environment: SOFTHSM2_CONF (the lab), WITNESS_PIN_FILE (the lab's
# witness.pin), MODULE (default: the installed SoftHSM2), SPY (optional:
# OpenSC's pkcs11-spy.so; the root key's generation and its certificate's
# signature then go through it, and their time inside the module is printed).
# Prints, on one line, the milliseconds of each stage, and with SPY the
# milliseconds inside C_GenerateKeyPair and C_Sign for the root key:
#   init_ms=N log_key_ms=N root_key_ms=N cert_ms=N seal_ms=N [root_hsm_ms=N]
set -euo pipefail

algorithm=$1
out=$2
module=${MODULE:-/usr/lib/softhsm/libsofthsm2.so}
witness_token=${WITNESS_TOKEN:-Quinn Adeyemi (auditor)}
witness_key=${WITNESS_KEY:-quinn-adeyemi-seal}
witness_pin=$(cat "${WITNESS_PIN_FILE:?WITNESS_PIN_FILE names the lab\'s witness.pin}")
label="Baseline Root"
case $algorithm in
  p384) key_type=EC:secp384r1 ;;
  rsa4096) key_type=rsa:4096 ;;
  *) echo "usage: $0 p384|rsa4096 OUT_DIR" >&2; exit 2 ;;
esac
mkdir -p "$out"
now() { date +%s%N; }
ms() { echo $((($2 - $1) / 1000000)); }
# pkcs11-tool, quiet unless it fails.
tool() {
  local said
  said=$(pkcs11-tool --module "$module" "$@" 2>&1) || { echo "pkcs11-tool $*: $said" >&2; return 1; }
}
# The root key's generation and signature go through the spy when asked.
root_module=$module
spy_log=$out/spy.log
if [ -n "${SPY:-}" ]; then
  root_module=$SPY
  export PKCS11SPY=$module PKCS11SPY_OUTPUT=$spy_log
fi

t0=$(now)
tool --token-label "$witness_token" --list-objects --type pubkey --label "$witness_key"
transient=$(head -c 20 /dev/urandom | od -An -tx1 | tr -d ' \n')
softhsm2-util --init-token --free --label "$label" --so-pin "$transient" --pin "$transient" >/dev/null
random=$(pkcs11-tool --module "$module" --token-label "$label" --generate-random 72 2>/dev/null | od -An -tx1 | tr -d ' \n')
# 72 bytes, as the ceremony draws; 16 of them a PIN (OpenSSL's engine takes
# no longer pin-value).
so_pin=${random:0:32}
user_pin=${random:40:32}
tool --token-label "$label" --login --login-type so --so-pin "$transient" --change-pin --new-pin "$so_pin"
tool --token-label "$label" --login --login-type so --so-pin "$so_pin" --init-pin --new-pin "$user_pin"
t1=$(now)
tool --token-label "$label" --login --pin "$user_pin" \
  --keypairgen --key-type EC:secp384r1 --label log --id 02 --usage-sign
# SoftHSM2 has no CKM_ECDSA_SHA384: a statement is hashed on the host and
# signed with CKM_ECDSA, as the ceremony does on such a token. By CKA_ID:
# pkcs11-tool picks the wrong key by label once an RSA key is on the token.
checkpoint() {
  printf 'keyceremony log checkpoint v1\nceremony: baseline\nentries: %s\nhead: %064d\n' "$1" 0 \
    | openssl dgst -sha384 -binary -out "$out/checkpoint.sha384"
  tool --token-label "$label" --login --pin "$user_pin" --sign --mechanism ECDSA \
    --id 02 --input-file "$out/checkpoint.sha384" --output-file "$out/checkpoint-$1.sig"
}
checkpoint 76
t2=$(now)
pkcs11-tool --module "$root_module" --token-label "$label" --login --pin "$user_pin" \
  --keypairgen --key-type "$key_type" --label root --id 01 --usage-sign >/dev/null 2>&1
tool --token-label "$label" --login --pin "$user_pin" --list-objects
checkpoint 84
t3=$(now)
PKCS11_MODULE_PATH=$root_module openssl req -new -x509 -engine pkcs11 -keyform engine \
  -key "pkcs11:token=Baseline%20Root;object=root;type=private;pin-value=$user_pin" \
  -sha384 -days 9131 -subj "/C=US/O=Example/CN=Baseline Root" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -out "$out/root.pem" 2>/dev/null
openssl x509 -in "$out/root.pem" -noout >/dev/null
checkpoint 100
checkpoint 108
t4=$(now)
printf 'keyceremony log seal\nceremony: baseline\nentries: 104\n' >"$out/statement.txt"
openssl dgst -sha384 -binary -out "$out/statement.sha384" "$out/statement.txt"
tool --token-label "$label" --login --pin "$user_pin" --sign --mechanism ECDSA \
  --id 02 --input-file "$out/statement.sha384" --output-file "$out/seal.sig"
tool --token-label "$witness_token" --login --pin "$witness_pin" --sign --mechanism ECDSA \
  --label "$witness_key" --input-file "$out/statement.sha384" --output-file "$out/witness.sig"
t5=$(now)
line="init_ms=$(ms "$t0" "$t1") log_key_ms=$(ms "$t1" "$t2") root_key_ms=$(ms "$t2" "$t3") cert_ms=$(ms "$t3" "$t4") seal_ms=$(ms "$t4" "$t5")"
if [ -n "${SPY:-}" ]; then
  # The spy stamps each call with the time it began (milliseconds): a call
  # lasts until the next call begins.
  root_hsm_ms=$(awk '
    /^[0-9]+: C_/ { name = $2; getline stamp; split(stamp, t, /[ :]/);
      now = ((t[2] * 60 + t[3]) * 60 + t[4]) * 1000;
      if (open != "") total += now - began; open = ""
      if (name == "C_GenerateKeyPair" || name == "C_Sign") { open = name; began = now } }
    END { printf "%d", total }' "$spy_log")
  line="$line root_hsm_ms=$root_hsm_ms"
fi
echo "$line"
