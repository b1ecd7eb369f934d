#!/usr/bin/env bash
# Measures what build.rs and the generated code add to a clean release build of the library.
#
# Compares, RUNS times each (default 5), interleaved:
#   crate    - this crate, `cargo build --release --lib`, default features, from a clean target dir;
#   control  - a crate made here with the same dependencies and features, no build.rs, an empty lib.
# Then the incremental rebuild after touching data/codes.tsv.
# Prints medians in seconds and the overhead. Usage: scripts/build-cost.sh [RUNS]
set -euo pipefail
runs=${1:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The control: same dependency lines as Cargo.toml's [dependencies], same lock file.
mkdir -p "$work/control/src"
{
  printf '[package]\nname = "control"\nversion = "0.0.0"\nedition = "2024"\npublish = false\n\n'
  printf '[features]\ndefault = ["std"]\nstd = ["thiserror/std", "strum/std"]\n\n[dependencies]\n'
  sed -n '/^\[dependencies\]/,/^\[/p' "$root/Cargo.toml" | grep -E '^(thiserror|strum) '
  printf '\n[workspace]\n'
} > "$work/control/Cargo.toml"
echo '#![no_std]' > "$work/control/src/lib.rs"
cp "$root/Cargo.lock" "$work/control/Cargo.lock"

# Copy the crate so that touching data/ leaves the checkout alone.
mkdir -p "$work/crate"
cp -r "$root/Cargo.toml" "$root/Cargo.lock" "$root/build.rs" "$root/build" "$root/data" "$root/src" \
  "$root/README.md" "$root/benches" "$root/examples" "$work/crate/"

(cd "$work/crate" && cargo fetch -q) && (cd "$work/control" && cargo fetch -q)

seconds() { # seconds DIR COMMAND...: wall time of COMMAND run in DIR; fails with its output if it fails
  local dir=$1; shift
  local start end
  start=$(date +%s.%N)
  if ! (cd "$dir" && "$@" >"$work/last.log" 2>&1); then
    echo "failed in $dir: $*" >&2
    cat "$work/last.log" >&2
    return 1
  fi
  end=$(date +%s.%N)
  python3 -c "print(round($end - $start, 3))"
}

crate=(); control=(); incremental=()
for i in $(seq "$runs"); do
  rm -rf "$work/crate/target" "$work/control/target"
  t=$(seconds "$work/crate" cargo build --release --lib --offline) || exit 1
  crate+=("$t")
  t=$(seconds "$work/control" cargo build --release --lib --offline) || exit 1
  control+=("$t")
  touch "$work/crate/data/codes.tsv"
  t=$(seconds "$work/crate" cargo build --release --lib --offline) || exit 1
  incremental+=("$t")
  echo "run $i: crate ${crate[-1]} s, control ${control[-1]} s, rebuild after touching data/ ${incremental[-1]} s" >&2
done

python3 - "${crate[*]}" "${control[*]}" "${incremental[*]}" <<'PY'
import statistics, sys
crate, control, incr = ([float(x) for x in a.split()] for a in sys.argv[1:4])
mc, mk, mi = statistics.median(crate), statistics.median(control), statistics.median(incr)
print(f"runs: {len(crate)}")
print(f"clean release build, crate:   median {mc:.2f} s  (min {min(crate):.2f}, max {max(crate):.2f})")
print(f"clean release build, control: median {mk:.2f} s  (min {min(control):.2f}, max {max(control):.2f})")
print(f"overhead of build.rs + generated code: {mc - mk:+.2f} s = {100 * (mc - mk) / mk:+.1f}% (goal: <= +10%)")
print(f"rebuild after touching data/codes.tsv: median {mi:.2f} s  (min {min(incr):.2f}, max {max(incr):.2f})")
PY
