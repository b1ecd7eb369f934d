#!/usr/bin/env bash
# Throughput, latency and peak memory of `css-errcode serve` under examples/load_callbacks.rs
# (64 connections on 127.0.0.1, the generator on the same cores), with fsync and without, and
# of examples/webhook.rs (which keeps nothing), in the same run. The three run in turn, round
# after round (ROUNDS, default 1), each time on a fresh data directory, so that a slow phase of
# a shared machine falls on all of them alike; each round prints the fsynced receiver's
# throughput over the unsynced one's, and the end their median.
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

# Starts a receiver whose first stdout line is "listening on ADDR", runs the load, reports.
measure() {
  local label=$1; shift
  # Emptied here, not by the child's redirection, which may come after the first look below.
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
}

ratios=()
for round in $(seq "${ROUNDS:-1}"); do
  echo "round $round"
  rm -rf "$work/fsync" "$work/nofsync"
  measure "serve (fsync)" target/release/css-errcode serve --listen 127.0.0.1:0 --data-dir "$work/fsync" --key-env CALLBACK_KEY
  synced=$rate
  lines=$(cat "$work"/fsync/*.jsonl | wc -l)
  echo "  lines on disk: $lines"
  measure "serve (no fsync)" target/release/css-errcode serve --listen 127.0.0.1:0 --data-dir "$work/nofsync" --key-env CALLBACK_KEY --no-fsync
  ratio=$(python3 -c "print(f'{$synced / $rate:.3f}')")
  ratios+=("$ratio")
  echo "  fsynced / no fsync: $ratio"
  BIND=127.0.0.1:0 measure "examples/webhook.rs (keeps nothing)" target/release/examples/webhook
done
python3 -c "import statistics, sys; r = list(map(float, sys.argv[1:])); print(f'fsynced / no fsync, per round: {r}; median {statistics.median(r):.3f}')" "${ratios[@]}"
