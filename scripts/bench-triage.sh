#!/usr/bin/env bash
# Times `css-errcode triage --json` (one parsing thread, and every core) against DuckDB's
# read_json (in a fresh process a round, its start-up included; and warm: one connection kept
# open, columns named, the query alone timed, at every core count: triage --threads N against
# DuckDB's `SET threads = N`, all cores and one) and, unless JQ=0, a jq pipeline, on a generated
# JSON-lines log of callback events (fixed seed), plain and gzip-compressed; checks that the
# counts agree. The contenders run in
# turn, round after round, so that a slow phase of a shared machine falls on all alike; the
# per-round ratios of triage to DuckDB are printed with their median.
#
# Usage: scripts/bench-triage.sh [SIZE_BYTES] [SEED]     (default 1000000000 and 42)
# RUNS=3 runs of each; JQ=0 skips jq (a minute per run); GZ=0 skips the .gz comparison;
# WARM_THREADS=2,1 picks the thread counts of the warm comparison (default: all cores, then 1).
# BASELINE_BIN=path/to/an/older/css-errcode runs that build too in the warm comparison, in turn
# with the others, and checks that its report is the same.
# The log goes to ${TRIAGE_BENCH_FILE:-target/bench/pushes-SIZE-SEED.jsonl} and is kept for reruns.
set -euo pipefail
size=${1:-1000000000}
seed=${2:-42}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
python3 -c 'import duckdb' 2>/dev/null || pip install --quiet duckdb

cargo build --release --quiet --features cli --bin css-errcode --example gen_events
bin=target/release/css-errcode
file=${TRIAGE_BENCH_FILE:-target/bench/pushes-$size-$seed.jsonl}
mkdir -p "$(dirname "$file")"
if [ ! -s "$file" ]; then
  echo "generating $file ..." >&2
  target/release/examples/gen_events "$size" "$seed" > "$file"
fi
if [ "${GZ:-1}" != 0 ] && [ ! -s "$file.gz" ]; then
  echo "compressing $file.gz ..." >&2
  gzip -k -6 -c "$file" > "$file.gz"
fi

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "duckdb: $(python3 -c 'import duckdb; print(duckdb.__version__)'), jq: $(jq --version 2>/dev/null || echo none)"

python3 - "$root/$bin" "$file" "${RUNS:-3}" "${JQ:-1}" "${GZ:-1}" "${BASELINE_BIN:-}" <<'PY'
import json, os, statistics, subprocess, sys, time

binary, path, runs, with_jq, with_gz = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] != "0", sys.argv[5] != "0"
baseline = sys.argv[6]

def run(argv, stdin=None):
    """Wall time, peak RSS (MiB) of this child alone (wait4), and its stdout."""
    start = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=stdin)
    out = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code > 1:
        sys.exit(f"{argv} failed with exit code {code}")
    return elapsed, usage.ru_maxrss / 1024, out

DUCK = """
import duckdb, json, sys, time
con = duckdb.connect()
rows = con.execute('''
  SELECT errcode, count(*) FROM (
    SELECT DISTINCT sequence, event_type, event_time, errcode
    FROM read_json(?, format='newline_delimited', ignore_errors=true)
    WHERE event_type = 0
  ) GROUP BY errcode''', [sys.argv[1]]).fetchall()
print(json.dumps({str(k): v for k, v in rows}))
"""

def by_errcode_from_triage(report):
    """Stream ends by errcode, from triage's by_reason (listed names through `explain`)."""
    counts = {}
    for name, n in report["by_reason"].items():
        if name.endswith("(unlisted)"):
            errcode = name.split("/")[0]
        else:
            errcode = str(json.loads(subprocess.run([binary, "explain", name, "--json"], capture_output=True).stdout)["errcode"])
        counts[errcode] = counts.get(errcode, 0) + n
    return counts

size = os.path.getsize(path)
results = []

def measure_together(contenders):
    """Runs the contenders in turn, `runs` rounds, so that a slow phase of a shared machine
    falls on all of them alike; prints each one's median and returns {label: (median, times,
    output)}."""
    times = {label: [] for label, _ in contenders}
    rss = {label: 0.0 for label, _ in contenders}
    outs = {}
    for _ in range(runs):
        for label, argv in contenders:
            t, r, out = run(argv)
            times[label].append(t)
            rss[label] = max(rss[label], r)
            outs[label] = out
    done = {}
    for label, _ in contenders:
        median = statistics.median(times[label])
        results.append((label, median, rss[label]))
        print(f"{label}: median {median:.3f} s of {runs} ({', '.join(f'{t:.3f}' for t in times[label])}), peak RSS {rss[label]:.1f} MiB", flush=True)
        done[label] = (median, times[label], outs[label])
    return done

def measure(label, argv):
    return measure_together([(label, argv)])[label][0::2]

def ratios(ours, theirs):
    """Per round, ours / theirs (below 1: ours is faster), and their median."""
    rounds = [a / b for a, b in zip(ours[1], theirs[1])]
    print(f"  per round: {', '.join(f'{r:.2f}' for r in rounds)}; median {statistics.median(rounds):.2f}")

all_cores = f"triage (all {os.cpu_count()} cores)"
plain = measure_together([
    ("triage --threads 1", [binary, "triage", "--json", "--threads", "1", path]),
    (all_cores, [binary, "triage", "--json", path]),
    ("duckdb read_json", [sys.executable, "-c", DUCK, path]),
])
print("triage (all cores) / duckdb:")
ratios(plain[all_cores], plain["duckdb read_json"])
report, duck_out = plain[all_cores][2], plain["duckdb read_json"][2]

ours_counts = by_errcode_from_triage(json.loads(report))
# DuckDB also counts lines triage refuses as malformed: a negative errcode is valid JSON.
duck_counts = {k: v for k, v in json.loads(duck_out).items() if not k.startswith("-")}
print("stream ends by errcode identical to DuckDB's:", ours_counts == duck_counts)
if ours_counts != duck_counts:
    print("  ours: ", dict(sorted(ours_counts.items())))
    print("  duck: ", dict(sorted(duck_counts.items())))

# DuckDB at its best, as a user who triages with it runs it: one warm connection (DuckDB and
# its JSON extension loaded, the query run once untimed), as many threads as triage, the four
# columns named (no schema detection); only the query is timed, in this process, in turn with
# triage round after round. triage is timed as a command (its start-up, a few milliseconds,
# included).
import duckdb
warm = duckdb.connect()
WARM_QUERY = """
  SELECT errcode, count(*) FROM (
    SELECT DISTINCT sequence, event_type, event_time, errcode
    FROM read_json(?, format='newline_delimited', ignore_errors=true,
                   columns={'sequence': 'VARCHAR', 'event_type': 'BIGINT',
                            'event_time': 'BIGINT', 'errcode': 'BIGINT'})
    WHERE event_type = 0
  ) GROUP BY errcode"""
# Every core count: triage --threads N against DuckDB with `SET threads = N`, all cores first.
thread_counts = [os.cpu_count()] + [n for n in (1,) if n != os.cpu_count()]
if os.environ.get("WARM_THREADS"):
    thread_counts = [int(n) for n in os.environ["WARM_THREADS"].split(",")]
for threads in thread_counts:
    warm.execute(f"SET threads = {threads}")
    warm.execute(WARM_QUERY, [path]).fetchall()
    warm_times, triage_times, baseline_times = [], [], []
    for _ in range(runs):
        t, _, report_warm = run([binary, "triage", "--json", "--threads", str(threads), path])
        triage_times.append(t)
        start = time.perf_counter()
        warm_rows = warm.execute(WARM_QUERY, [path]).fetchall()
        warm_times.append(time.perf_counter() - start)
        if baseline:
            t, _, report_baseline = run([baseline, "triage", "--json", "--threads", str(threads), path])
            baseline_times.append(t)
    print(f"duckdb warm (query alone, columns named, {threads} threads): median {statistics.median(warm_times):.3f} s of {runs} ({', '.join(f'{t:.3f}' for t in warm_times)})")
    print(f"triage --threads {threads}, in turn with it: median {statistics.median(triage_times):.3f} s ({', '.join(f'{t:.3f}' for t in triage_times)})")
    print(f"triage --threads {threads} / duckdb warm, {threads} threads:")
    ratios((None, triage_times), (None, warm_times))
    warm_counts = {str(k): v for k, v in warm_rows if k is not None and k >= 0}
    print("stream ends by errcode identical to warm DuckDB's:", warm_counts == ours_counts)
    print("report identical to the all-cores one:", report_warm == report)
    if baseline:
        print(f"baseline {baseline} --threads {threads}, in turn: median {statistics.median(baseline_times):.3f} s ({', '.join(f'{t:.3f}' for t in baseline_times)})")
        print(f"baseline / duckdb warm, {threads} threads:")
        ratios((None, baseline_times), (None, warm_times))
        print("triage / baseline:")
        ratios((None, triage_times), (None, baseline_times))
        print("baseline report identical:", report_baseline == report)

if with_gz:
    gz = path + ".gz"
    packed = measure_together([
        ("triage .gz (all cores)", [binary, "triage", "--json", gz]),
        ("duckdb read_json .gz", [sys.executable, "-c", DUCK, gz]),
    ])
    print("triage .gz / duckdb .gz:")
    ratios(packed["triage .gz (all cores)"], packed["duckdb read_json .gz"])
    gz_report = packed["triage .gz (all cores)"][2]
    # The same report but for the file name in the malformed-line list.
    strip = lambda r: {k: v for k, v in json.loads(r).items() if k != "malformed_lines"}
    print("gz report identical to the plain one (file names aside):", strip(gz_report) == strip(report))

if with_jq:
    jq_filter = '[inputs | fromjson? | objects | select(.event_type == 0) | select((.errcode | type) == "number" and .errcode >= 0) | "\\(.sequence):\\(.event_time):\\(.errcode)"] | unique | length'
    measure_runs, runs = runs, 1
    jq_t, _ = measure("jq (stream ends, deduplicated)", ["jq", "-nR", jq_filter, path])
    runs = measure_runs

print()
print(f"| {size:,} bytes | median | throughput | peak RSS |")
print("|---|---|---|---|")
for label, median, rss in results:
    print(f"| {label} | {median:.2f} s | {size / median / 1e6:.0f} MB/s | {rss:.1f} MiB |")
PY
