#!/usr/bin/env bash
# scripts/source-bundle.sh DIR: writes DIR/keyceremony-VERSION-src.tar.gz, the
# checked-out commit's source (`git archive`, which also writes the commit
# into crates/engine/COMMIT) with every dependency of Cargo.lock vendored
# (`cargo vendor`) and a .cargo/config.toml that builds from vendor/ with no
# network; prints the tarball's path. The tarball is the same bytes from any
# clone of the commit: its entries are sorted, owned by 0:0, dated at the
# commit's time, with fixed modes, and gzip records no name or date.
# scripts/release.sh puts it in the release.
set -euo pipefail
export LC_ALL=C

if [ $# -ne 1 ] || [ ! -d "$1" ]; then
  echo "usage: scripts/source-bundle.sh DIR (an existing folder)" >&2
  exit 2
fi
dir=$(cd "$1" && pwd -P)
root=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$root"

commit=$(git rev-parse HEAD)
epoch=$(git log -1 --format=%ct "$commit")
version=$(cargo pkgid --locked -p keyceremony | sed 's/.*@//')
name="keyceremony-$version-src"

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
git archive --format=tar --prefix="$name/" "$commit" | tar -x -C "$stage"
cd "$stage/$name"
# Versioned folder names (NAME-VERSION), as in cargo's registry, so that
# build-release.sh remaps both to the same /crates.io/NAME-VERSION.
cargo vendor --locked --versioned-dirs --quiet vendor >/dev/null
mkdir .cargo
cat > .cargo/config.toml <<'EOF'
# The source bundle of a keyceremony release (scripts/source-bundle.sh): every
# dependency of Cargo.lock is in vendor/, and cargo never goes to the network.
# fuzz/ has dependencies of its own that are not vendored.
[source.crates-io]
replace-with = "vendored-sources"

[source.vendored-sources]
directory = "vendor"

[net]
offline = true
EOF
cd "$stage"
tar --create --file=- --sort=name --format=posix \
  --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
  --mtime="@$epoch" --owner=0 --group=0 --numeric-owner --mode=u+rw,go=rX,a-s \
  "$name" | gzip -9n > "$dir/$name.tar.gz.partial"
mv "$dir/$name.tar.gz.partial" "$dir/$name.tar.gz"
echo "$dir/$name.tar.gz"
