#!/usr/bin/env bash
# Throughput, latency and peak memory of `css-errcode serve` (SQLite store, every commit
# synced) under examples/load_callbacks.rs (CONNECTIONS connections on 127.0.0.1, the generator
# on the same cores), and of examples/webhook.rs (the same answer rules, keeping nothing) in the
# same run. They run in turn, round after round (ROUNDS, default 1), the receiver on a fresh
# data directory each time, so that a slow phase of a shared machine falls on both alike; the
# order swaps from one round to the next. Each round prints serve's throughput over the
# webhook's, the rows in the database (every accepted callback must be there) and its size
# per million callbacks; the end prints the median ratio. Run it on an otherwise idle machine:
# the receiver's fsyncs wait for whatever else the disk is doing.
#
# With BASELINE=path/to/another/css-errcode, each round also runs that build of the receiver
# (an earlier commit, say) and prints serve's throughput over the baseline's.
#
# Usage: scripts/bench-serve.sh [CALLBACKS] [CONNECTIONS]    (default 200000 and 64)
set -euo pipefail
count=${1:-200000}
connections=${2:-64}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo build --release --quiet --features serve --bin css-errcode
cargo build --release --quiet --features events --example load_callbacks --example webhook
export CALLBACK_KEY=bench-key CSS_CALLBACK_KEY=bench-key RUST_LOG=warn
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); data on $(df -h "$work" | tail -1 | awk '{print $1}')"

# Starts a receiver whose first stdout or stderr line says "listening on ADDR", runs the load,
# reports.
measure() {
  local label=$1; shift
  : > "$work/out"; : > "$work/err"
  "$@" >> "$work/out" 2>> "$work/err" &
  local pid=$!
  local address=""
  for _ in $(seq 100); do
    address=$(sed -n 's/.*listening on //p' "$work/out" "$work/err" 2>/dev/null | head -n 1)
    [ -n "$address" ] && break
    sleep 0.1
  done
  [ -n "$address" ] || { echo "$label did not start" >&2; cat "$work/err" >&2; exit 1; }
  local result
  result=$(target/release/examples/load_callbacks "http://$address/callback" "$connections" "$count" 60)
  local peak
  peak=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
  kill -TERM "$pid"; wait "$pid" || true
  echo "$label: $result peak_rss_kib=$peak"
  rate=$(echo "$result" | sed -n 's/.*"ok_per_second":\([0-9.]*\).*/\1/p')
  ok=$(echo "$result" | sed -n 's/.*"ok":\([0-9]*\).*/\1/p')
}

ratios=()
baseline_ratios=()
for round in $(seq "${ROUNDS:-1}"); do
  echo "round $round"
  # This disk is mounted with online discard: deleting the last round's database sends the
  # device discards that slow the fsyncs of the next round. Let them finish first.
  rm -rf "$work/data"; sync; sleep 3
  order="serve webhook${BASELINE:+ baseline}"
  [ $((round % 2)) = 0 ] && order="${BASELINE:+baseline }webhook serve"
  for phase in $order; do
    if [ "$phase" = serve ]; then
      measure "serve (SQLite, synchronous=FULL)" target/release/css-errcode serve --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --data-dir "$work/data" --key-env CALLBACK_KEY
      stored=$rate
      python3 - "$work/data/events.db" "$ok" <<'PY'
import os, sqlite3, sys
path, ok = sys.argv[1], int(sys.argv[2])
rows = sqlite3.connect(path).execute("select count(*) from callbacks").fetchone()[0]
size = sum(os.path.getsize(path + s) for s in ("", "-wal") if os.path.exists(path + s))
print(f"  rows in the database: {rows} (acknowledged {ok}); {size / 2**20:.1f} MiB, {size / rows * 1e6 / 2**20:.0f} MiB per million callbacks")
assert rows >= ok, "an acknowledged callback is missing"
PY
    elif [ "$phase" = baseline ]; then
      rm -rf "$work/baseline"
      measure "baseline ($BASELINE)" "$BASELINE" serve --listen 127.0.0.1:0 --data-dir "$work/baseline" --key-env CALLBACK_KEY
      base=$rate
      rm -rf "$work/baseline"; sync; sleep 3
    else
      BIND=127.0.0.1:0 measure "examples/webhook.rs (keeps nothing)" target/release/examples/webhook
      kept_nothing=$rate
    fi
  done
  ratio=$(python3 -c "print(f'{$stored / $kept_nothing:.3f}')")
  ratios+=("$ratio")
  echo "  serve / webhook: $ratio"
  if [ -n "${BASELINE:-}" ]; then
    baseline_ratios+=("$(python3 -c "print(f'{$stored / $base:.3f}')")")
    echo "  serve / baseline: ${baseline_ratios[-1]}"
  fi
done
if [ -n "${BASELINE:-}" ]; then
  python3 -c "import statistics, sys; r = list(map(float, sys.argv[1:])); print(f'serve / baseline, per round: {r}; median {statistics.median(r):.3f}')" "${baseline_ratios[@]}"
fi
python3 -c "import statistics, sys; r = list(map(float, sys.argv[1:])); print(f'serve / webhook, per round: {r}; median {statistics.median(r):.3f}')" "${ratios[@]}"
