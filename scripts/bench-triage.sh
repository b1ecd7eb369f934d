#!/usr/bin/env bash
# Times `css-errcode triage --json` against a jq pipeline that computes the same per-category
# counts, on a generated JSON-lines log of callback events (fixed seed). Checks the counts agree.
#
# Usage: scripts/bench-triage.sh [SIZE_BYTES] [SEED]     (default 1000000000 and 42)
# The log goes to ${TRIAGE_BENCH_FILE:-target/bench/events-SIZE-SEED.jsonl} and is kept for reruns.
set -euo pipefail
size=${1:-1000000000}
seed=${2:-42}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
command -v jq >/dev/null || { echo "jq is needed (apt-get install jq)" >&2; exit 2; }

cargo build --release --quiet --features cli --bin css-errcode --example gen_events
bin=target/release/css-errcode
file=${TRIAGE_BENCH_FILE:-target/bench/events-$size-$seed.jsonl}
mkdir -p "$(dirname "$file")"
if [ ! -s "$file" ]; then
  echo "generating $file ..." >&2
  target/release/examples/gen_events "$size" "$seed" > "$file"
fi
bytes=$(stat -c %s "$file")

# The errcode -> category map for jq, from the crate itself (callbacks carry errcode only).
map=$(for e in $(seq 0 64); do "$bin" explain "$e" --json; done | jq -s 'map({key: (.errcode|tostring), value: .category}) | from_entries')

# Wall time and peak RSS of a command, measured by Python around the child process.
measure() {
  python3 - "$@" <<'PY'
import resource, subprocess, sys, time
out = open(sys.argv[1], "wb")
start = time.perf_counter()
code = subprocess.call(sys.argv[2:], stdout=out, stderr=subprocess.DEVNULL)
elapsed = time.perf_counter() - start
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(f"{elapsed:.3f} {rss:.1f} {code}")
PY
}

echo "file: $file ($bytes bytes)"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
runs=${RUNS:-3}
ours=()
for i in $(seq "$runs"); do
  read -r t rss code < <(measure /tmp/triage-ours.json "$bin" triage --json "$file")
  [ "$code" -le 1 ] || { echo "triage failed with exit code $code" >&2; exit 1; }
  ours+=("$t")
  echo "css-errcode triage run $i: $t s, peak RSS $rss MiB, exit $code"
done

# The same counts with jq: valid events only, redeliveries dropped by sequence:event_type:event_time,
# stream ends counted by category. (A reduce over an object of seen keys is quadratic in jq 1.6;
# collecting the keys and letting unique_by sort them is not.)
read -r jq_t jq_rss jq_code < <(measure /tmp/triage-jq.json jq -nR --argjson cat "$map" '
  [inputs | fromjson? | objects
   | select(.event_type == 0 or .event_type == 1)
   | select(.event_type == 1 or ((.errcode | type) == "number" and .errcode >= 0))
   | {k: "\(.sequence):\(.event_type):\(.event_time)",
      c: (if .event_type == 0 then ($cat[.errcode | tostring] // "unknown") else null end)}]
  | unique_by(.k) | map(select(.c != null)) | group_by(.c) | map({key: .[0].c, value: length})
  | from_entries' "$file")
echo "jq: $jq_t s, peak RSS $jq_rss MiB, exit $jq_code"

python3 - "$bytes" "$jq_t" "${ours[@]}" <<'PY'
import json, statistics, sys
size, jq_t, ours = int(sys.argv[1]), float(sys.argv[2]), [float(x) for x in sys.argv[3:]]
ours_counts = json.load(open("/tmp/triage-ours.json"))["by_category"]
jq_counts = json.load(open("/tmp/triage-jq.json"))
median = statistics.median(ours)
print(f"triage median: {median:.3f} s = {size / median / 1e6:.0f} MB/s; jq: {jq_t:.3f} s = {size / jq_t / 1e6:.1f} MB/s; ratio {jq_t / median:.1f}x")
print("category counts identical to jq's:", ours_counts == jq_counts)
if ours_counts != jq_counts:
    print("  ours:", ours_counts)
    print("  jq:  ", jq_counts)
    sys.exit(1)
PY
