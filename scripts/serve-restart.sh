#!/usr/bin/env bash
# Restart of `css-errcode serve` on a store of many callbacks: the time from the start of the
# process to its first 200, and its peak RSS, asserted against limits, as is the peak RSS of
# `export` of the whole store; with the one-time import of a 0.2 day file that fills the store,
# the export speed, and the database's size.
# A benchmark-style check, not a timed test: it exits 1 when a limit is missed.
#
# Usage: scripts/serve-restart.sh [CALLBACKS] [RSS_LIMIT_MIB] [FIRST_200_LIMIT_S]
#        (default 2000000, 64 and 1)
set -euo pipefail
count=${1:-2000000}
rss_limit=${2:-64}
first_limit=${3:-1}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo build --release --quiet --features serve --bin css-errcode
bin=$root/target/release/css-errcode
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# A 0.2 day file of distinct stream ends, shaped like real callbacks (every documented field).
awk -v n="$count" 'BEGIN { for (i = 0; i < n; i++)
  printf "{\"t\":1700000600,\"sign\":\"0123456789abcdef0123456789abcdef\",\"event_type\":0,\"appid\":1250000000,\"app\":\"push%d.example.com\",\"appname\":\"live\",\"stream_id\":\"room%d\",\"channel_id\":\"room%d\",\"event_time\":%d,\"sequence\":\"66744681%011d\",\"node\":\"203.0.113.%d\",\"user_ip\":\"198.51.100.%d\",\"stream_param\":\"txSecret=0123456789abcdef&txTime=65A1B2C3\",\"push_duration\":\"%d\",\"errcode\":%d,\"errmsg\":\"push link network error\",\"set_id\":2,\"width\":1280,\"height\":720,\"idc_id\":38}\n",
    i % 7, i % 5000, i % 5000, 1700000000 + i, i, i % 250, i % 250, i * 37 % 3600000, (i % 3 == 0) ? 1 : 12 }' \
  > "$dir/events-2026-11-01.jsonl"

python3 - "$bin" "$dir" "$count" "$rss_limit" "$first_limit" <<'PY'
import hashlib, json, os, socket, subprocess, sys, time
bin, dir, count, rss_limit, first_limit = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
key = "bench-key"
env = dict(os.environ, CALLBACK_KEY=key, RUST_LOG="info")

def post(address, sequence):
    t = int(time.time()) + 600
    body = json.dumps({"t": t, "sign": hashlib.md5(f"{key}{t}".encode()).hexdigest(), "event_type": 1,
                       "app": "push.example.com", "appname": "live", "stream_id": "restart",
                       "event_time": int(time.time()), "sequence": str(sequence)}).encode()
    host, port = address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(b"POST /callback HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
    return int(reply.split(b" ", 2)[1])

def start():
    began = time.perf_counter()
    child = subprocess.Popen([bin, "serve", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--data-dir", dir, "--key-env", "CALLBACK_KEY"],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = child.stdout.readline()
    address = line.strip().removeprefix("listening on ")
    return child, address, began

def peak_kib(child):
    with open(f"/proc/{child.pid}/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmHWM"))

def stop(child):
    child.terminate()
    _, err = child.communicate(timeout=120)
    return err

# First start: the one-time import of the 0.2 file fills the store.
size = os.path.getsize(os.path.join(dir, "events-2026-11-01.jsonl"))
child, address, began = start()
imported = time.perf_counter() - began
log = stop(child)
line = next(l for l in log.splitlines() if "imported" in l)
print(f"import of the 0.2 file: {count} callbacks, {size / 1e6:.0f} MB, in {imported:.1f} s ({size / 1e6 / imported:.0f} MB/s)")
db = os.path.join(dir, "events.db")
wal = os.path.getsize(db + "-wal") if os.path.exists(db + "-wal") else 0
dbsize = os.path.getsize(db)
print(f"database after a clean stop: {dbsize / 2**20:.0f} MiB ({dbsize / count * 1e6 / 2**20:.0f} MiB per million callbacks), WAL {wal / 2**20:.0f} MiB")

# Restarts: time to the first 200, and peak RSS then and after 20,000 more callbacks.
ok = True
for attempt in range(3):
    child, address, began = start()
    status = 0
    while status != 200:
        try:
            status = post(address, f"first-{attempt}")
        except OSError:
            time.sleep(0.001)
    first = time.perf_counter() - began
    rss_first = peak_kib(child) / 1024
    for n in range(20_000):
        assert post(address, f"more-{attempt}-{n}") == 200
    rss_after = peak_kib(child) / 1024
    stop(child)
    print(f"restart {attempt + 1} on {count + attempt * 20_001} callbacks: first 200 after {first * 1e3:.0f} ms; peak RSS {rss_first:.1f} MiB then, {rss_after:.1f} MiB after 20,000 more")
    ok &= first < first_limit and rss_after < rss_limit

# Export: every callback as JSON lines, counted as they stream by; its peak RSS from a
# Python of its own (this one's children include the receivers).
counter = ("import resource, subprocess, sys, time\n"
           "t = time.perf_counter(); n = b = 0\n"
           "p = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE)\n"
           "for chunk in iter(lambda: p.stdout.read(1 << 20), b''):\n"
           "    n += chunk.count(b'\\n'); b += len(chunk)\n"
           "p.wait()\n"
           "print(n, b, time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
out = subprocess.run([sys.executable, "-c", counter, bin, "export", "--data-dir", dir], capture_output=True, text=True, check=True).stdout.split()
lines, size, seconds, export_rss = int(out[0]), int(out[1]), float(out[2]), int(out[3]) / 1024
print(f"export: {lines} callbacks, {size / 1e6:.0f} MB in {seconds:.2f} s ({size / 1e6 / seconds:.0f} MB/s), peak RSS {export_rss:.1f} MiB")
ok &= export_rss < rss_limit
if not ok:
    print(f"FAILED: a restart missed {first_limit} s to the first 200, or a restart or the export {rss_limit} MiB of peak RSS")
sys.exit(0 if ok else 1)
PY
