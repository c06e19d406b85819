#!/usr/bin/env bash
# scripts/release.sh OUT: the release of the checked-out commit, in OUT (which
# must not exist yet):
#   keyceremony                      the binary (scripts/build-release.sh: --locked,
#                                    --release, every build path remapped)
#   keyceremony.1, completions/      its man page and shell completions
#   ceremony-scripts/, docs/, README.md   the shipped scripts and the docs
#   keyceremony-VERSION-src.tar.gz   the commit's source with every dependency
#                                    vendored, building with no network
#   BUILD-INFO                       the commit and the toolchain, linker and libc
#                                    a rebuild needs to give the same bytes
#   SHA256SUMS                       every file above
# Every file is the same bytes from any clone of the commit, in any folder and
# with any cargo home. docs/auditor.md rebuilds the binary from the bundle.
set -euo pipefail
export LC_ALL=C

if [ $# -ne 1 ]; then
  echo "usage: scripts/release.sh OUT (a folder that does not exist yet)" >&2
  exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd -P)
if [ -e "$1" ]; then
  echo "release: $1 already exists; name a new folder for the release" >&2
  exit 2
fi
mkdir -p "$(dirname "$1")"
out="$(cd "$(dirname "$1")" && pwd -P)/$(basename "$1")"
if ! git -C "$root" rev-parse --verify --quiet HEAD >/dev/null; then
  echo "release: $root is not a git checkout with a commit; a release is made from a commit" >&2
  exit 1
fi
if [ -n "$(git -C "$root" status --porcelain)" ]; then
  echo "release: the working tree has changes that are not committed (git status lists them);" \
    "a release is built from a commit alone: commit or stash them, then run again" >&2
  exit 1
fi

commit=$(git -C "$root" rev-parse HEAD)
SOURCE_DATE_EPOCH=$(git -C "$root" log -1 --format=%ct)
export SOURCE_DATE_EPOCH

# Everything is made in a folder beside OUT and renamed to OUT once complete,
# so a failed release leaves no half-written OUT.
work=$(mktemp -d "$out.partial.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/release"

bash "$root/scripts/build-release.sh" >/dev/null
bin="$root/target/release/keyceremony"
version=$("$bin" --version | cut -d' ' -f2)
bash "$root/scripts/source-bundle.sh" "$work/release" >/dev/null
git -C "$root" archive --format=tar "$commit" ceremony-scripts docs README.md \
  | tar -x -C "$work/release"

cd "$work/release"
cp "$bin" keyceremony
./keyceremony man > keyceremony.1
mkdir completions
./keyceremony completions bash > completions/keyceremony.bash
./keyceremony completions zsh > completions/_keyceremony
./keyceremony completions fish > completions/keyceremony.fish
{
  echo "keyceremony $version"
  echo "commit: $commit"
  echo "SOURCE_DATE_EPOCH: $SOURCE_DATE_EPOCH"
  echo "target: $(rustc -vV | sed -n 's/^host: //p')"
  echo "rustc: $(rustc -V)"
  echo "cargo: $(cargo -V)"
  echo "linker: $(cc --version | head -n1)"
  echo "binutils: $(ld --version | head -n1)"
  echo "libc: $(ldd --version | head -n1)"
  echo "needs: $(readelf -d keyceremony | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | paste -sd' ' -)"
  echo "glibc: $(objdump -T keyceremony | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -n1 | sed 's/GLIBC_//') or later"
} > BUILD-INFO
find . -type f -printf '%P\0' | sort -z | xargs -0 sha256sum > "$work/SHA256SUMS"
mv "$work/SHA256SUMS" SHA256SUMS
cd "$root"
mv "$work/release" "$out"
echo "release: keyceremony $version of $commit in $out"
sed -n '/  keyceremony$/p' "$out/SHA256SUMS"
