#!/usr/bin/env bash
# Builds the library and the binary with the Rust version Cargo.toml declares (rust-version),
# using Debian bookworm's rustc-web/cargo-web packages unpacked beside rustup's toolchain
# (rustup cannot fetch another toolchain here). The dev-dependencies (criterion) need a newer
# Rust, so tests and benches are not built: the promise is about what users compile.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
msrv=$(sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml)
debver="${msrv}.0+dfsg3-1~deb12u3"
tools=${MSRV_TOOLS:-$root/target/msrv-toolchain}
if [ ! -x "$tools/usr/bin/cargo" ]; then
  command -v apt-get >/dev/null || { echo "apt-get is needed to fetch Rust $msrv" >&2; exit 2; }
  downloads=$(mktemp -d)
  apt-get update -qq
  (cd "$downloads" && apt-get download -qq \
    "rustc-web=$debver" "cargo-web=$debver" "libstd-rust-web-$msrv=$debver" \
    "libstd-rust-web-dev=$debver" libllvm19 libpcre3 libhttp-parser2.9 2>/dev/null)
  mkdir -p "$tools"
  for deb in "$downloads"/*.deb; do dpkg -x "$deb" "$tools"; done
  rm -rf "$downloads"
fi
export LD_LIBRARY_PATH="$tools/usr/lib/x86_64-linux-gnu:$tools/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export RUSTC="$tools/usr/bin/rustc"
cargo_msrv="$tools/usr/bin/cargo"
"$RUSTC" --version | grep -q "^rustc $msrv" || { echo "expected rustc $msrv, got $("$RUSTC" --version)" >&2; exit 1; }
"$RUSTC" --version
for features in "--all-features" "--no-default-features"; do
  # shellcheck disable=SC2086
  "$cargo_msrv" check --locked --lib --bins $features --target-dir target/msrv
done
echo "builds with Rust $msrv"
