#!/usr/bin/env bash
# The Stream Interruption Records page served by `css-errcode serve` from a store of CALLBACKS
# callbacks (default 1,000,000) over 30 days, RECENT (default 10,000) of whose interruptions
# ended in the last 24 hours: the time to answer each view (a warm receiver, one connection,
# ROUNDS requests each, in turn) and its size, against the goals (under 100 ms, under 200 KB).
# The store is made once by examples/fill_store.rs and kept under target/bench/.
#
# Usage: scripts/bench-page.sh [CALLBACKS] [RECENT]
set -euo pipefail
count=${1:-1000000}
recent=${2:-10000}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo build --release --quiet --features serve --bin css-errcode
cargo build --release --quiet --features store --example fill_store
store=target/bench/page-store-$count-$recent
if [ ! -s "$store/events.db" ]; then
  rm -rf "$store"
  echo "filling $store ..." >&2
  target/release/examples/fill_store "$store" "$count" "$recent" >&2
fi
python3 - target/release/css-errcode "$store" "${ROUNDS:-50}" <<'PY'
import http.client, os, statistics, subprocess, sys, time
bin, store, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
env = dict(os.environ, CALLBACK_KEY="bench-key", RUST_LOG="warn")
child = subprocess.Popen([bin, "serve", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
                          "--data-dir", store, "--key-env", "CALLBACK_KEY"],
                         env=env, stdout=subprocess.PIPE, text=True)
child.stdout.readline()
admin = child.stdout.readline().strip().removeprefix("admin on ")
host, port = admin.rsplit(":", 1)
views = [("overview, last 24 h", "/"),
         ("overview, network only", "/?category=network"),
         ("overview, page 50", "/?page=50"),
         ("overview, last 7 days", f"/?since={int(time.time()) - 7 * 86400}"),
         ("one stream", "/streams/push0.example.com/live/room7"),
         ("JSON: live streams", "/api/streams?live=true")]
try:
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    def get(path):
        began = time.perf_counter()
        conn.request("GET", path, headers={"Accept-Language": "en"})
        response = conn.getresponse()
        body = response.read()
        assert response.status == 200, (path, response.status, body[:200])
        return time.perf_counter() - began, body
    for _, path in views:
        get(path)  # warm: the page cache and the receiver's statement caches
    times = {name: [] for name, _ in views}
    sizes = {}
    for _ in range(rounds):
        for name, path in views:
            seconds, body = get(path)
            times[name].append(seconds * 1000)
            sizes[name] = len(body)
    total = None
    _, body = get("/")
    marker = b'<span id="total">'
    at = body.find(marker)
    if at >= 0:
        total = body[at + len(marker):body.find(b"<", at + len(marker))].decode()
    print(f"store: {store}, {os.path.getsize(os.path.join(store, 'events.db')) / 2**20:.0f} MiB; interruptions in the last 24 h on the page: {total}")
    print(f"{'view':<26} {'median ms':>10} {'p90 ms':>8} {'max ms':>8} {'bytes':>9}")
    for name, _ in views:
        t = sorted(times[name])
        print(f"{name:<26} {statistics.median(t):>10.1f} {t[int(len(t) * 0.9) - 1]:>8.1f} {t[-1]:>8.1f} {sizes[name]:>9}")
finally:
    child.terminate()
    child.wait(timeout=60)
PY
