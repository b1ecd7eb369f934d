#!/usr/bin/env bash
# Throughput, latency and peak memory of `css-errcode serve` under examples/load_callbacks.rs
# (64 connections on 127.0.0.1, the generator on the same cores), with fsync and without, and
# of examples/webhook.rs (which keeps nothing), in the same run. They run in turn, round after
# round (ROUNDS, default 1), each time on a fresh data directory, so that a slow phase of a
# shared machine falls on all of them alike; the fsynced and unsynced receivers swap order from
# one round to the next. Each round prints the fsynced receiver's throughput over the unsynced
# one's, and the end their median. Where /dev/shm is a tmpfs, each round also runs the fsynced
# receiver with its data there (where an fsync returns at once): the difference from the
# fsynced run on disk is what the disk's fsyncs cost.
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

tmpfs=""
if [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ]; then
  tmpfs=$(mktemp -d -p /dev/shm)
  trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work" "$tmpfs"' EXIT
fi

ratios=()
for round in $(seq "${ROUNDS:-1}"); do
  echo "round $round"
  rm -rf "$work/fsync" "$work/nofsync"
  [ -n "$tmpfs" ] && rm -rf "${tmpfs:?}/fsync"
  order="fsync nofsync"
  [ $((round % 2)) = 0 ] && order="nofsync fsync"
  for phase in $order; do
    if [ "$phase" = fsync ]; then
      measure "serve (fsync)" target/release/css-errcode serve --listen 127.0.0.1:0 --data-dir "$work/fsync" --key-env CALLBACK_KEY
      synced=$rate
      lines=$(grep -c . "$work"/fsync/*.jsonl | awk -F: '{n += $NF} END {print n}')
      echo "  lines on disk: $lines"
    else
      measure "serve (no fsync)" target/release/css-errcode serve --listen 127.0.0.1:0 --data-dir "$work/nofsync" --key-env CALLBACK_KEY --no-fsync
      unsynced=$rate
    fi
  done
  ratio=$(python3 -c "print(f'{$synced / $unsynced:.3f}')")
  ratios+=("$ratio")
  echo "  fsynced / no fsync: $ratio"
  if [ -n "$tmpfs" ]; then
    measure "serve (fsync, data on tmpfs)" target/release/css-errcode serve --listen 127.0.0.1:0 --data-dir "$tmpfs/fsync" --key-env CALLBACK_KEY
    echo "  fsynced on tmpfs / no fsync: $(python3 -c "print(f'{$rate / $unsynced:.3f}')")"
  fi
  BIND=127.0.0.1:0 measure "examples/webhook.rs (keeps nothing)" target/release/examples/webhook
done
python3 -c "import statistics, sys; r = list(map(float, sys.argv[1:])); print(f'fsynced / no fsync, per round: {r}; median {statistics.median(r):.3f}')" "${ratios[@]}"
