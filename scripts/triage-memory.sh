#!/usr/bin/env bash
# Peak memory of `css-errcode triage` on inputs built to exhaust it, asserted against a limit.
# A benchmark-style check, not a timed test: it fails when a promise of bounded memory breaks.
#
#   1. one million stream ends, each a distinct unlisted errcode and a distinct event (every
#      by_reason entry and every deduper slot is new);
#   2. one line of 50 MB, between two good lines.
#
# Usage: scripts/triage-memory.sh [LIMIT_MIB]   (default 100)
set -euo pipefail
limit=${1:-100}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo build --release --quiet --features cli --bin css-errcode
bin=$root/target/release/css-errcode
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

awk 'BEGIN { for (i = 0; i < 1000000; i++)
  printf "{\"t\":1,\"event_type\":0,\"app\":\"d.example.com\",\"appname\":\"live\",\"stream_id\":\"s%d\",\"sequence\":\"%d\",\"event_time\":%d,\"errcode\":%d}\n", i, i, 1700000000 + i, 1000 + i }' \
  > "$dir/distinct.jsonl"
{
  echo '{"t":1,"event_type":0,"stream_id":"a","sequence":"1","event_time":1,"errcode":12}'
  printf '{"errmsg":"'; head -c 50000000 /dev/zero | tr '\0' x; echo '"}'
  echo '{"t":1,"event_type":0,"stream_id":"b","sequence":"2","event_time":2,"errcode":12}'
} > "$dir/long.jsonl"

# Peak RSS in MiB of the command, and its report, from Python around the child process.
peak() {
  python3 - "$@" <<'PY'
import resource, subprocess, sys
out = subprocess.run(sys.argv[1:], capture_output=True)
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
sys.stdout.write(f"{rss:.1f} {out.returncode}\n")
sys.stdout.buffer.write(out.stdout)
PY
}

status=0
for input in distinct long; do
  result=$(peak "$bin" triage --json "$dir/$input.jsonl")
  read -r rss code <<<"$(head -n 1 <<<"$result")"
  report=$(tail -n +2 <<<"$result")
  reasons=$(jq '.by_reason | length' <<<"$report")
  events=$(jq '.events' <<<"$report")
  echo "$input: peak ${rss} MiB (limit ${limit}), exit $code, events $events, by_reason entries $reasons"
  if awk -v r="$rss" -v l="$limit" 'BEGIN { exit !(r > l) }'; then
    echo "  FAIL: peak memory over ${limit} MiB" >&2
    status=1
  fi
done
exit $status
