#!/usr/bin/env bash
# `css-errcode sessions` against `css-errcode triage` on the same JSON-lines log (the 1 GB log
# of scripts/bench-triage.sh by default), in turn, round after round (ROUNDS, default 3): wall
# time, throughput and peak RSS of each, and sessions' throughput over triage's per round.
# sessions writes one JSON line a push to /dev/null. BASELINE_BIN=path/to/an/older/css-errcode
# times that build's sessions too, in the same rounds.
#
# Usage: scripts/bench-sessions.sh [SIZE_BYTES] [SEED]    (default 1000000000 and 42)
set -euo pipefail
size=${1:-1000000000}
seed=${2:-42}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo build --release --quiet --features cli --bin css-errcode --example gen_events
bin=target/release/css-errcode
file=${TRIAGE_BENCH_FILE:-target/bench/pushes-$size-$seed.jsonl}
mkdir -p "$(dirname "$file")"
if [ ! -s "$file" ]; then
  echo "generating $file ..." >&2
  target/release/examples/gen_events "$size" "$seed" > "$file"
fi
python3 - "$bin" "$file" "${ROUNDS:-3}" "${BASELINE_BIN:-}" <<'PY'
import os, resource, statistics, subprocess, sys, time
bin, file, rounds, baseline = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
size = os.path.getsize(file)

def run(args):
    # Peak RSS of this child alone: fork a fresh Python for it.
    script = ("import resource, subprocess, sys, time\n"
              "t = time.perf_counter()\n"
              "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
              "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), int(out[1]) / 1024

ratios = []
for r in range(rounds):
    order = [("triage", [bin, "triage", "--json", file]), ("sessions", [bin, "sessions", "--format", "jsonl", file])]
    if baseline:
        order.append(("baseline sessions", [baseline, "sessions", "--format", "jsonl", file]))
    if r % 2:
        order.reverse()
    result = {}
    for name, args in order:
        seconds, rss = run(args)
        result[name] = seconds
        print(f"round {r + 1} {name}: {seconds:.2f} s, {size / 1e6 / seconds:.0f} MB/s, peak RSS {rss:.1f} MiB")
    ratios.append(result["triage"] / result["sessions"])
    print(f"round {r + 1} sessions throughput / triage throughput: {ratios[-1]:.2f}")
    if baseline:
        print(f"round {r + 1} sessions throughput / baseline's: {result['baseline sessions'] / result['sessions']:.2f}")
print(f"median sessions/triage throughput: {statistics.median(ratios):.2f}")
PY
