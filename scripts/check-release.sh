#!/usr/bin/env bash
# A release of the checked-out commit is rebuilt bit for bit, and the
# auditor's rebuild (docs/auditor.md, "Rebuilding the binary that ran the
# ceremony") holds as written. Two release builds, in two folders with two
# cargo homes:
#   1. scripts/release.sh in a clone of the commit, with a cargo home of its
#      own that holds the downloaded crates but has never unpacked or built
#      one (as on a fresh machine): the release. Its files match its
#      SHA256SUMS, its binary names no folder of the build, and the README
#      names the libraries it needs.
#   2. That binary rehearses both shipped ceremonies on SoftHSM2: a log whose
#      environment entry records the binary's SHA-256.
#   3. The auditor's section, run as written in another folder: the bundle
#      made again from another clone is the same bytes, and the bundle built
#      with an empty cargo home and cargo offline gives the release's binary,
#      the one the log names.
# Builds 1 and 3 differ in the folder, the cargo home, where the
# dependencies' sources are (cargo's registry against vendor/) and whether
# there is a .git; a second clone built like 1 would differ from 1 only in a
# part of these, so a third build would show nothing the two do not.
set -euo pipefail
export LC_ALL=C
start=$SECONDS
root=$(cd "$(dirname "$0")/.." && pwd -P)
cargo_home=${CARGO_HOME:-$HOME/.cargo}
work=$(mktemp -d "${TMPDIR:-/tmp}/kc-release-check.XXXXXX")
trap 'status=$?; if [ $status -eq 0 ]; then rm -rf "$work";
  else echo "check-release: FAILED; what it made is in $work" >&2; fi' EXIT
fail() {
  printf 'check-release: %s\n' "$@" >&2
  exit 1
}

if ! commit=$(git -C "$root" rev-parse --verify --quiet HEAD); then
  fail "$root is not a git checkout with a commit; the check clones a commit and releases it"
fi
if [ -n "$(git -C "$root" status --porcelain)" ]; then
  echo "check-release: checking commit $commit; the changes not committed are not part of it"
fi

# Every crate of Cargo.lock, for every platform (cargo vendor takes them
# all), into the caller's cargo home: the only step that may use the network.
cargo fetch --locked --quiet --manifest-path "$root/Cargo.toml"

one="$work/one"
mkdir -p "$one/cargo-home/registry"
cp -a "$cargo_home/registry/index" "$cargo_home/registry/cache" "$one/cargo-home/registry/"
git init --quiet "$one/keyceremony"
git -C "$one/keyceremony" fetch --quiet "$root" HEAD
git -C "$one/keyceremony" checkout --quiet -b checked FETCH_HEAD
release="$work/release"
CARGO_HOME="$one/cargo-home" CARGO_NET_OFFLINE=true \
  bash "$one/keyceremony/scripts/release.sh" "$release"
(cd "$release" && sha256sum --quiet --check SHA256SUMS) || fail "the release does not match its SHA256SUMS"
grep -qxF "commit: $commit" "$release/BUILD-INFO" || fail "BUILD-INFO does not name commit $commit"
leaks=$(strings "$release/keyceremony" | grep -F -e "$work" -e "$root" -e "$cargo_home" \
  -e "${RUSTUP_HOME:-$HOME/.rustup}" -e /registry/src/ || true)
[ -z "$leaks" ] || fail "the release binary names folders of its build:" "$leaks"
for library in $(sed -n 's/^needs: //p' "$release/BUILD-INFO"); do
  grep -qF "$library" "$one/keyceremony/README.md" \
    || fail "README.md does not list $library, which the binary needs"
done
glibc=$(sed -n 's/^glibc: //p' "$release/BUILD-INFO")
grep -qF "glibc $glibc" "$one/keyceremony/README.md" \
  || fail "README.md does not say the binary needs glibc $glibc"
binary_sha256=$(sha256sum "$release/keyceremony" | cut -d' ' -f1)
echo "check-release: release built, $((SECONDS - start)) s"

env -u SOFTHSM2_CONF -u KEYCEREMONY_MODULE \
  "$release/keyceremony" rehearse --headless --out "$work/rehearsal" >/dev/null

audit="$work/audit"
mkdir "$audit"
cp "$release"/keyceremony-*-src.tar.gz "$work/rehearsal/root-p384/ceremony.log" "$audit/"
section='## Rebuilding the binary that ran the ceremony'
script=$(awk -v section="$section" '
  $0 == section { inside = 1; next }
  inside && /^## / { inside = 0 }
  inside && !block && $0 == "```bash" { block = 1; next }
  inside && block && $0 == "```" { block = 0; print "echo \"-- next block --\""; next }
  inside && block { print }
' "$one/keyceremony/docs/auditor.md")
blocks=$(grep -c -e '^echo "-- next block --"$' <<< "$script" || true)
[ "$blocks" -ge 5 ] || fail "docs/auditor.md has no section \"$section\" with its 5 command blocks"
script=${script//"cd /tmp/kc-rebuild"/"cd '$audit'"}
script=${script//REPOSITORY/"'$one/keyceremony'"}
if ! out=$(bash -c "$script" 2>"$work/audit.stderr"); then
  fail "the auditor's commands stopped:" "$out" "$(cat "$work/audit.stderr")"
fi

expect() {
  grep -qxF -e "$1" <<< "$out" || fail "the auditor's commands did not print '$1':" "$out"
}
[ "$(grep -cxF -e "$commit" <<< "$out")" -eq 2 ] \
  || fail "the bundle and the log do not both name commit $commit:" "$out"
expect "the bundle is the reviewed commit's"
expect "$binary_sha256  target/release/keyceremony"
expect "logged:  ${binary_sha256^^}"
expect "the ceremony ran the binary this source builds"
# Cargo keeps its locks and its cache's bookkeeping there; nothing else.
[ ! -e "$audit/empty-cargo-home/registry" ] && [ ! -e "$audit/empty-cargo-home/git" ] \
  || fail "the offline build fetched crates into its empty cargo home"
echo "check-release: $commit rebuilt bit for bit from its bundle ($binary_sha256), $((SECONDS - start)) s"
