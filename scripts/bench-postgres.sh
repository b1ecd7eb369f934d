#!/usr/bin/env bash
# Accepted callbacks a second, and latency, of `css-errcode serve` on PostgreSQL with one
# replica and with two (the load's connections shared between them, as a balancer would), beside
# serve on SQLite, in the same run: examples/load_callbacks.rs from CONNECTIONS connections on
# 127.0.0.1, the generator, the receivers and PostgreSQL on the same cores. PostgreSQL is started
# here from the installed server (initdb in a temporary directory, 127.0.0.1 on a free port,
# fsync and synchronous_commit on: every acknowledged callback is on disk), each phase on a fresh
# database (SQLite: a fresh directory). Phases run in turn, round after round (ROUNDS, default
# 1), in an order that rotates; each checks that every acknowledged callback is in the database.
#
# Usage: scripts/bench-postgres.sh [CALLBACKS] [CONNECTIONS]    (default 200000 and 64)
set -euo pipefail
count=${1:-200000}
connections=${2:-64}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo build --release --quiet --features serve,postgres --bin css-errcode
cargo build --release --quiet --features events --example load_callbacks
export CALLBACK_KEY=bench-key RUST_LOG=warn
work=$(mktemp -d)
pgbin=$(dirname "$(command -v initdb 2>/dev/null || ls /usr/lib/postgresql/*/bin/initdb | tail -n 1)")
as_pg=()
if [ "$(id -u)" = 0 ]; then
  as_pg=(runuser -u postgres --)
  chown postgres "$work"
fi
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
pg_ctl() {
  "${as_pg[@]}" "$pgbin/pg_ctl" -D "$work/cluster" -l "$work/server.log" \
    -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$work -c max_connections=100 -c fsync=on -c synchronous_commit=on" "$@"
}
cleanup() {
  kill $(jobs -p) 2>/dev/null || true
  pg_ctl -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
"${as_pg[@]}" "$pgbin/initdb" -D "$work/cluster" -U css -A trust -E UTF8 --no-instructions >/dev/null
pg_ctl -w start >/dev/null
psql() { command psql -q -X -v ON_ERROR_STOP=1 "postgres://css@127.0.0.1:$port/postgres?sslmode=disable" "$@"; }
export CSS_DATABASE="postgres://css@127.0.0.1:$port/bench?sslmode=disable"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); data on $(df -h "$work" | tail -1 | awk '{print $1}')"
echo "PostgreSQL: $("$pgbin/postgres" --version), fsync=on, synchronous_commit=on, other settings default"

# Starts receivers (each "ARGS…" one of them), runs the load over all of them, reports.
measure() {
  local label=$1; shift
  local pids=() urls=""
  local i=0
  for args in "$@"; do
    i=$((i + 1))
    : > "$work/out$i"
    # shellcheck disable=SC2086
    target/release/css-errcode serve --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --key-env CALLBACK_KEY $args >> "$work/out$i" 2>> "$work/err$i" &
    pids+=($!)
    local address=""
    for _ in $(seq 100); do
      address=$(sed -n 's/^listening on //p' "$work/out$i" 2>/dev/null | head -n 1)
      [ -n "$address" ] && break
      sleep 0.1
    done
    [ -n "$address" ] || { echo "$label did not start" >&2; cat "$work/err$i" >&2; exit 1; }
    urls="${urls:+$urls,}http://$address/callback"
  done
  local before after
  before=$(head -n 1 /proc/stat)
  result=$(target/release/examples/load_callbacks "$urls" "$connections" "$count" 60)
  after=$(head -n 1 /proc/stat)
  for pid in "${pids[@]}"; do kill -TERM "$pid"; wait "$pid" || true; done
  # The machine's busy share during the load (every process: the generator, the receivers and
  # PostgreSQL): from /proc/stat, user+nice+system+irq+softirq over all but iowait.
  busy=$(python3 -c '
import sys
a = list(map(int, sys.argv[1].split()[1:8])); b = list(map(int, sys.argv[2].split()[1:8]))
d = [y - x for x, y in zip(a, b)]
user, nice, system, idle, iowait, irq, softirq = d
print(f"{100 * (user + nice + system + irq + softirq) / sum(d):.0f}% busy, {100 * iowait / sum(d):.0f}% iowait")' "$before" "$after")
  echo "$label: $result cpu: $busy"
  rate=$(echo "$result" | sed -n 's/.*"ok_per_second":\([0-9.]*\).*/\1/p')
  ok=$(echo "$result" | sed -n 's/.*"ok":\([0-9]*\).*/\1/p')
}

fresh_database() {
  psql -c "DROP DATABASE IF EXISTS bench WITH (FORCE)" -c "CREATE DATABASE bench"
}

check_rows() {
  local rows=$1
  echo "  rows in the database: $rows (acknowledged $ok)"
  [ "$rows" -ge "$ok" ] || { echo "an acknowledged callback is missing" >&2; exit 1; }
}

declare -A rates
phases=(sqlite pg1 pg2)
for round in $(seq "${ROUNDS:-1}"); do
  echo "round $round"
  shift_by=$(( (round - 1) % 3 ))
  order=("${phases[@]:$shift_by}" "${phases[@]:0:$shift_by}")
  for phase in "${order[@]}"; do
    rm -rf "$work/data"; sync; sleep 2
    case $phase in
      sqlite)
        measure "serve on SQLite (synchronous=FULL)" "--data-dir $work/data"
        check_rows "$(python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from callbacks").fetchone()[0])' "$work/data/events.db")"
        ;;
      pg1)
        fresh_database
        measure "serve on PostgreSQL, one replica" "--database-env CSS_DATABASE"
        check_rows "$(command psql -X -tA "$CSS_DATABASE" -c 'select count(*) from callbacks')"
        ;;
      pg2)
        fresh_database
        measure "serve on PostgreSQL, two replicas" "--database-env CSS_DATABASE" "--database-env CSS_DATABASE"
        check_rows "$(command psql -X -tA "$CSS_DATABASE" -c 'select count(*) from callbacks')"
        ;;
    esac
    rates[$phase]="${rates[$phase]:-} $rate"
  done
done
for phase in "${phases[@]}"; do
  # shellcheck disable=SC2086
  python3 -c "import statistics, sys; r = list(map(float, sys.argv[2:])); print(f'{sys.argv[1]}: per round {[round(x) for x in r]}; median {statistics.median(r):.0f}/s')" "$phase" ${rates[$phase]}
done
