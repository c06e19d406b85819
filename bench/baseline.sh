#!/usr/bin/env bash
# The baseline for docs/performance.md: the job a key ceremony does, done by
# hand with stock tools on a SoftHSM2 token. Initialise a token, generate the
# root key pair in it (pkcs11-tool --keypairgen), and self-sign the root
# certificate with SHA-384 through OpenSSL's PKCS#11 engine. Nothing else:
# no shares, no log, no seal, no report, no backup.
#
# Usage: bench/baseline.sh p384|rsa4096 OUT_DIR
# Environment: SOFTHSM2_CONF (the lab), MODULE (default: the installed
# SoftHSM2). Prints the milliseconds of each stage on one line:
#   init_ms=N keygen_ms=N cert_ms=N
set -euo pipefail

algorithm=$1
out=$2
module=${MODULE:-/usr/lib/softhsm/libsofthsm2.so}
export PKCS11_MODULE_PATH=$module
label="Baseline Root"
pin=123456
so_pin=12345678
case $algorithm in
  p384) key_type=EC:secp384r1 ;;
  rsa4096) key_type=rsa:4096 ;;
  *) echo "usage: $0 p384|rsa4096 OUT_DIR" >&2; exit 2 ;;
esac
mkdir -p "$out"
now() { date +%s%N; }
ms() { echo $((($2 - $1) / 1000000)); }

t0=$(now)
softhsm2-util --init-token --free --label "$label" --so-pin "$so_pin" --pin "$pin" >/dev/null
t1=$(now)
pkcs11-tool --module "$module" --token-label "$label" --login --pin "$pin" \
  --keypairgen --key-type "$key_type" --label root --id 01 --usage-sign >/dev/null
t2=$(now)
openssl req -new -x509 -engine pkcs11 -keyform engine \
  -key "pkcs11:token=Baseline%20Root;object=root;type=private;pin-value=$pin" \
  -sha384 -days 9131 -subj "/C=US/O=Example/CN=Baseline Root" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -out "$out/root.pem" 2>/dev/null
t3=$(now)
openssl x509 -in "$out/root.pem" -noout >/dev/null
echo "init_ms=$(ms "$t0" "$t1") keygen_ms=$(ms "$t1" "$t2") cert_ms=$(ms "$t2" "$t3")"
