#!/usr/bin/env bash
# Benchmark the PostgreSQL destination against a throwaway PostgreSQL server
# and the sandbox organization (each in its own process), and check three
# goals:
#
# 1. A full sync at sandbox scale N (23000: about a million actions) into
#    PostgreSQL against the same sync into SQLite: wall time and peak RSS
#    of each, syncing every resource (huntr-sync's default), each three
#    times from empty in the order PostgreSQL, SQLite, SQLite, PostgreSQL,
#    PostgreSQL, SQLite (so that neither gains from coming first or last).
#    Goals: PostgreSQL's median wall time at most 1.3x SQLite's median (on
#    a shared machine one run in a few is slowed by a third or more, its
#    CPU time too: the median leaves such a run out), its peak RSS at most
#    100 MiB (the highest of its three runs).
# 2. The same organization at scale M (2000; a second sandbox) read into
#    PostgreSQL by huntr-sync and by dlt's `postgres` destination, both
#    from the same ten list endpoints (members, jobs, activities, actions,
#    employers, member-fields, board-templates, organization-invitations,
#    activity-categories, events), both into empty databases: huntr-sync
#    three times (the median counts), dlt twice (the faster counts), the
#    two tools taking turns. Goal: huntr-sync at least 10x faster (wall
#    time).
# 3. Simulated days: after the full syncs of (1), the sandbox advances
#    one day and both destinations sync again (PostgreSQL first), then a
#    second day (SQLite first). On the first day, what PostgreSQL counted in
#    pg_stat_user_tables (schema huntr: n_tup_ins, n_tup_upd, n_tup_del,
#    read before and after the day's run, once its session is gone and
#    the counters are flushed) must equal what the run says it changed:
#    its rows of _huntr_sync_run_tables (inserted, updated, deleted) plus
#    the bookkeeping rows it wrote (one in _huntr_sync_runs, one per
#    _huntr_sync_run_tables row). Goals: equal, and the two days' wall
#    time into PostgreSQL at most 1.2x the same days into SQLite.
#
# Before each timed run the server and the machine are brought to rest,
# as the gap between two nights leaves them: VACUUM ANALYZE of the
# databases (the work autovacuum would otherwise do in the middle of the
# next timed run, whichever destination it times), a CHECKPOINT, and the
# kernel's dirty pages written (sync).
#
#   scripts/pg_bench.sh [--scale N] [--dlt-scale M] [--keep]
#
# --keep  keeps the work directories (databases, logs, the server's data
#         directory and its log) and prints where they are.
#
# Also printed: how long binary COPY takes through huntr-sync's own
# encoder and through tokio-postgres' BinaryCopyInWriter (the same rows of
# the scale-M state, a few tables), huntr-sync into SQLite at scale M (the same ten endpoints;
# the part of (2) that is not PostgreSQL's), the load average before and
# after (the figures are only fair on a quiet machine), and from the
# server's log (huntr-sync's statements, each logged with its duration):
# how long each run's publishing transaction took, and the slowest
# statements.
#
# The sandboxes have no rate limit and no added latency; the pipelines say
# requests_per_second = 10000. PostgreSQL (the newest major version under
# /usr/lib/postgresql, or PG_BIN) keeps its default durability (fsync and
# synchronous_commit on) with the settings a server given a bulk load would
# have: shared_buffers 1GB, max_wal_size 8GB, work_mem 64MB,
# maintenance_work_mem 512MB (and locale C). huntr-sync and dlt both connect over TCP to
# 127.0.0.1 with a password (PGPASSWORD for huntr-sync, in dlt's
# credentials for dlt), without TLS. As root, the server runs as the
# `postgres` user.
#
# dlt is installed from PyPI (`dlt[postgres]`) into a virtual environment
# kept in target/pg-bench-venv (or PG_BENCH_VENV), made on first use. Its
# pipeline, below, reads each endpoint's pages (limit 500, following
# `next`) with requests, the ten endpoints in parallel (parallelized
# resources), and loads them with write_disposition "replace" and dlt's
# other defaults (nested lists become child tables, as huntr-sync's do).
# Both tools are timed as whole processes (dlt's includes Python's start).
#
# huntr-sync is this tree's profiling build, or HUNTR_SYNC_BIN.
set -euo pipefail
cd "$(dirname "$0")/.."

scale=23000 dlt_scale=2000 keep=""
while [ $# -gt 0 ]; do
  case "$1" in
    --scale) scale=$2; shift 2 ;;
    --dlt-scale) dlt_scale=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

bin=${HUNTR_SYNC_BIN:-${CARGO_TARGET_DIR:-target}/profiling/huntr-sync}
[ -n "${HUNTR_SYNC_BIN:-}" ] || cargo build --profile profiling --quiet -p huntr-sync
pg_bin=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
[ -x "$pg_bin/initdb" ] || { echo "no PostgreSQL server binaries (apt-get install postgresql, or set PG_BIN)" >&2; exit 1; }
venv=${PG_BENCH_VENV:-${CARGO_TARGET_DIR:-target}/pg-bench-venv}

# The work directory (databases, state, logs), and the server's own (its
# data and socket: owned by the user it runs as, and short, as a socket's
# path must be).
work=$(mktemp -d)
pg_dir=$(mktemp -d /tmp/huntr-pg-bench-XXXXXX)
as_pg=()
if [ "$(id -u)" = 0 ]; then
  as_pg=(runuser -u postgres --)
  chown postgres: "$pg_dir"
fi
token=bench-token
password=bench-password

source scripts/sandbox.sh
cleanup() {
  kill ${sandbox_big:-} ${sandbox_small:-} ${sandbox:-} 2>/dev/null || true
  if [ -f "$pg_dir/data/postmaster.pid" ]; then
    "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate stop > /dev/null 2>&1 || true
  fi
  if [ -n "$keep" ]; then echo "kept $work and $pg_dir" >&2; else rm -rf "$work" "$pg_dir"; fi
}
trap cleanup EXIT

# dlt, once.
if ! "$venv/bin/python" -c 'import dlt, psycopg2' 2> /dev/null; then
  echo "installing dlt[postgres] into $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet 'dlt[postgres]' > "$work/pip.log" 2>&1 || { cat "$work/pip.log"; exit 1; }
fi

# The server.
pg_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
echo "$password" > "$pg_dir/pwfile"
[ -z "${as_pg[*]}" ] || chown postgres: "$pg_dir/pwfile"
"${as_pg[@]}" "$pg_bin/initdb" -D "$pg_dir/data" -U bench --pwfile="$pg_dir/pwfile" \
  --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C --no-sync > "$work/initdb.log" 2>&1 \
  || { cat "$work/initdb.log"; exit 1; }
pg_settings="-c shared_buffers=1GB -c max_wal_size=8GB -c work_mem=64MB -c maintenance_work_mem=512MB"
"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -w -l "$pg_dir/server.log" \
  -o "-k $pg_dir -p $pg_port -c listen_addresses=127.0.0.1 -c log_timezone=UTC $pg_settings" start > /dev/null \
  || { cat "$pg_dir/server.log"; exit 1; }
# sql DB ARGS...: over the socket (trust), one value a line.
sql() { local db=$1; shift; "$pg_bin/psql" -h "$pg_dir" -p "$pg_port" -U bench -d "$db" -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }
for db in huntr huntr_b small dlt; do sql postgres -c "CREATE DATABASE $db"; done
# huntr-sync's statements go to the server's log, with their durations.
for db in huntr huntr_b small; do sql postgres -c "ALTER DATABASE $db SET log_min_duration_statement = 0"; done

# The sandboxes: the organization at --scale, and at --dlt-scale.
started=$(date +%s.%N)
mkdir "$work/big" "$work/small"
start_sandbox "$bin" "$work/big" --scale "$scale" --token "$token"
sandbox_big=$sandbox port_big=$port
ready=$(date +%s.%N)
start_sandbox "$bin" "$work/small" --scale "$dlt_scale" --token "$token"
sandbox_small=$sandbox port_small=$port
export HUNTR_ORG_TOKEN=$token PGPASSWORD=$password

pg_url() { echo "postgres://bench@127.0.0.1:$pg_port/$1?schema=huntr&sslmode=disable"; }
ten='["members", "jobs", "activities", "actions", "employers", "member-fields", "board-templates", "organization-invitations", "activity-categories", "events"]'
cat > "$work/pipelines.toml" <<EOF
[pipelines.postgres]
base_url = "http://127.0.0.1:$port_big/org"
destination = "$(pg_url huntr)"
state = "$work/postgres-state.db"
requests_per_second = 10000
[pipelines.sqlite]
base_url = "http://127.0.0.1:$port_big/org"
destination = "sqlite:$work/bench.db"
requests_per_second = 10000
[pipelines.postgres_b]
base_url = "http://127.0.0.1:$port_big/org"
destination = "$(pg_url huntr_b)"
state = "$work/postgres_b-state.db"
requests_per_second = 10000
[pipelines.sqlite_b]
base_url = "http://127.0.0.1:$port_big/org"
destination = "sqlite:$work/bench_b.db"
requests_per_second = 10000
[pipelines.small]
base_url = "http://127.0.0.1:$port_small/org"
destination = "$(pg_url small)"
state = "$work/small-state.db"
requests_per_second = 10000
resources = $ten
[pipelines.sqlite_small]
base_url = "http://127.0.0.1:$port_small/org"
destination = "sqlite:$work/small.db"
requests_per_second = 10000
resources = $ten
EOF

# dlt's pipeline: the ten endpoints, each a resource yielding its pages.
cat > "$work/dlt_load.py" <<'EOF'
import json, sys
import dlt, requests

base, token = sys.argv[1], sys.argv[2]
ENDPOINTS = ["members", "jobs", "activities", "actions", "employers", "member-fields",
             "board-templates", "organization-invitations", "activity-categories", "events"]

def pages(path):
    """Every page of an endpoint, newest first: `limit` 500, then `next`
    until a page without one (or an empty page)."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    params = {"limit": 500}
    while True:
        r = session.get(f"{base}/{path}", params=params, timeout=60)
        r.raise_for_status()
        body = r.json()
        data = body.get("data") or []
        if data:
            yield data
        if not data or not body.get("next"):
            return
        params = {"limit": 500, "next": body["next"]}

resources = [dlt.resource(pages(p), name=p.replace("-", "_"), primary_key="id",
                          write_disposition="replace", parallelized=True)
             for p in ENDPOINTS]
pipeline = dlt.pipeline(pipeline_name="huntr_bench", destination="postgres", dataset_name="huntr")
info = pipeline.run(resources)
info.raise_on_failed_jobs()
counts = pipeline.last_trace.last_normalize_info.row_counts
rows = {t: n for t, n in counts.items() if not t.startswith("_dlt")}
print(json.dumps({"rows": sum(rows.values()), "tables": len(rows)}))
EOF

# measure NAME COMMAND...: wall seconds, peak RSS (KiB), and when it
# started and ended (seconds since the epoch) into results; its stdout in
# WORK/NAME.json.
measure() {
  local name=$1 start; shift
  echo "$(date +%T) $name" >&2
  start=$(date +%s.%N)
  /usr/bin/time -f "%e %M %U %S" -o "$work/time" "$@" > "$work/$name.json" 2> "$work/$name.err" \
    || { cat "$work/$name.err"; exit 1; }
  echo "$name $(cat "$work/time") $start $(date +%s.%N)" >> "$work/results"
}
hs_sync=("$bin" sync --config "$work/pipelines.toml" --json --pipeline)

# pg_stat_user_tables' n_tup_ins, n_tup_upd, n_tup_del of each table of
# schema huntr in database huntr, once no other client is connected to it
# and two readings a second apart agree: a backend flushes its counters as
# it exits, which may come just after its entry leaves pg_stat_activity.
table_stats() {
  local q="SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables
           WHERE schemaname = 'huntr' ORDER BY relname"
  local others="SELECT count(*) FROM pg_stat_activity WHERE datname = 'huntr'
                AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
  local tries=0 last="" now
  until [ "$(sql huntr -c "$others")" = 0 ]; do
    tries=$((tries + 1)); [ $tries -lt 60 ] || { echo "a session stays connected to huntr" >&2; exit 1; }
    sleep 0.5
  done
  now=$(sql huntr -F ' ' -c "$q")
  until [ "$now" = "$last" ]; do
    tries=$((tries + 1)); [ $tries -lt 60 ] || { echo "pg_stat_user_tables does not settle" >&2; exit 1; }
    last=$now; sleep 1; now=$(sql huntr -F ' ' -c "$q")
  done
  echo "$now"
}

# settle: the server and the machine at rest before a timed run, as a
# night's gap leaves them. Back to back, one run pays for the last one's
# aftermath: autovacuum working through the tables it loaded, the
# checkpointer and the kernel writing its dirty pages. So: VACUUM ANALYZE
# of the databases written (autovacuum's work, done now), a CHECKPOINT,
# and the kernel's dirty pages written.
settle() {
  for db in huntr small dlt; do sql "$db" -c "VACUUM (ANALYZE)"; done
  sql postgres -c "CHECKPOINT"
  sync
}
# fresh_small: the scale-M destinations empty again, as for a first run.
fresh_small() {
  sql small -c "DROP SCHEMA IF EXISTS huntr CASCADE" 2> /dev/null
  rm -f "$work"/small-state.db* "$work"/small.db*
  sql postgres -c "DROP DATABASE dlt" -c "CREATE DATABASE dlt"
  rm -rf "$work/dlt"
}

load_before=$(cut -d ' ' -f 1-3 /proc/loadavg)
# 1: the full syncs, PostgreSQL, SQLite, SQLite, PostgreSQL, PostgreSQL,
# SQLite. The second and third of each load copies (database huntr_b,
# bench_b.db) that are emptied once measured; the days carry on from the
# first pair.
reset_b() {
  sql postgres -c "DROP DATABASE huntr_b" -c "CREATE DATABASE huntr_b"
  sql postgres -c "ALTER DATABASE huntr_b SET log_min_duration_statement = 0"
  rm -f "$work"/bench_b.db* "$work"/postgres_b-state.db*
}
settle; measure pg_full "${hs_sync[@]}" postgres
settle; measure sqlite_full "${hs_sync[@]}" sqlite
settle; measure sqlite_full_b "${hs_sync[@]}" sqlite_b
settle; measure pg_full_b "${hs_sync[@]}" postgres_b
reset_b
settle; measure pg_full_c "${hs_sync[@]}" postgres_b
settle; measure sqlite_full_c "${hs_sync[@]}" sqlite_b
sql postgres -c "DROP DATABASE huntr_b"
rm -f "$work"/bench_b.db* "$work"/postgres_b-state.db*
table_stats > "$work/stats_before"
# 3: the day, twice: PostgreSQL first on the first day, SQLite first on
# the second (the goal compares the two days' sums). The counters are
# checked on the first.
curl -sf -X POST "http://127.0.0.1:$port_big/_sandbox/advance?days=1" > "$work/advance.json"
settle; measure pg_day "${hs_sync[@]}" postgres
settle; measure sqlite_day "${hs_sync[@]}" sqlite
table_stats > "$work/stats_after"
# What the day's run says it wrote, table by table.
sql huntr -F ' ' > "$work/run_report" -c "
  SELECT table_name, inserted, updated, deleted FROM huntr._huntr_sync_run_tables
  WHERE run_id = (SELECT max(run_id) FROM huntr._huntr_sync_runs)"
curl -sf -X POST "http://127.0.0.1:$port_big/_sandbox/advance?days=1" > "$work/advance2.json"
settle; measure sqlite_day2 "${hs_sync[@]}" sqlite
settle; measure pg_day2 "${hs_sync[@]}" postgres
# 2: huntr-sync against dlt, at --dlt-scale, each into an empty
# destination: huntr-sync three times (its median), into SQLite three
# times beside it, dlt twice (its faster run), taking turns, so that a
# slow spell of the machine falls on both tools alike.
for i in 1 2 3; do
  fresh_small
  settle; measure "hs_small_$i" "${hs_sync[@]}" small
  settle; measure "sqlite_small_$i" "${hs_sync[@]}" sqlite_small
  [ $i -lt 3 ] || break
  settle; measure "dlt_small_$i" env DLT_DATA_DIR="$work/dlt" RUNTIME__DLTHUB_TELEMETRY=false \
    DESTINATION__POSTGRES__CREDENTIALS="postgresql://bench:$password@127.0.0.1:$pg_port/dlt" \
    "$venv/bin/python" "$work/dlt_load.py" "http://127.0.0.1:$port_small/org" "$token"
done
# The COPY comparison reads the state of a huntr-sync run.
fresh_small
"${hs_sync[@]}" small > /dev/null

# The two ways of sending binary COPY data (an ignored test of the library,
# src/destination/postgres/copy_compare.rs), on the rows of the scale-M
# state and its database: printed, no goal.
echo "binary COPY, huntr-sync's encoder against tokio-postgres' BinaryCopyInWriter (scale $dlt_scale, median of 5 turns):"
HUNTR_BENCH_POSTGRES_URL="$(pg_url small)" HUNTR_BENCH_STATE="$work/small-state.db" \
  cargo test --release --quiet --lib copy_compare -- --ignored --nocapture 2>&1 \
  | grep -E '^(table |[a-z_]+ +[0-9]+ +[0-9.]+ )' || echo "  (the comparison did not run)"

python3 - "$work" "$scale" "$dlt_scale" "$(python3 -c "print(round($ready - $started, 1))")" "$pg_settings" \
  "$load_before" "$(cut -d ' ' -f 1-3 /proc/loadavg)" "$pg_dir/server.log" <<'EOF'
import json, os, re, statistics, sys
from datetime import datetime, timezone
work, scale, dlt_scale, startup, settings, load_before, load_after, server_log = sys.argv[1:9]
runs, spans = {}, {}
for line in open(f"{work}/results"):
    name, wall, rss, user, system, start, end = line.split()
    runs[name] = (float(wall), int(rss) / 1024, float(user) + float(system))
    spans[name] = (float(start), float(end))

def published(name):
    """Rows the run inserted or updated (huntr-sync's summary), or dlt's rows."""
    r = json.load(open(f"{work}/{name}.json"))
    if "rows" in r:
        return r["rows"]
    return sum(c["inserted"] + c["updated"] for c in r["tables"].values())

print(f"sandbox: scale {scale} (ready in {startup} s) and scale {dlt_scale}; no rate limit, no latency")
print(f"PostgreSQL: fsync on, {settings.replace('-c ', '')}")
print(f"load average before: {load_before}; after: {load_after} ({os.cpu_count()} CPUs)")
print(f"{'run':<46} {'wall s':>8} {'CPU s':>7} {'peak RSS MiB':>13} {'rows':>10} {'rows/s':>9}")
labels = [("pg_full", f"full sync, PostgreSQL (scale {scale}) #1"),
          ("sqlite_full", f"full sync, SQLite (scale {scale}) #1"),
          ("sqlite_full_b", f"full sync, SQLite (scale {scale}) #2"),
          ("pg_full_b", f"full sync, PostgreSQL (scale {scale}) #2"),
          ("pg_full_c", f"full sync, PostgreSQL (scale {scale}) #3"),
          ("sqlite_full_c", f"full sync, SQLite (scale {scale}) #3"),
          ("pg_day", "day 1, PostgreSQL"),
          ("sqlite_day", "day 1, SQLite"),
          ("sqlite_day2", "day 2, SQLite"),
          ("pg_day2", "day 2, PostgreSQL")]
labels += [(f"hs_small_{i}", f"huntr-sync, 10 endpoints (scale {dlt_scale}) #{i}") for i in (1, 2, 3)]
labels += [(f"sqlite_small_{i}", f"  the same into SQLite #{i}") for i in (1, 2, 3)]
labels += [(f"dlt_small_{i}", f"dlt, 10 endpoints (scale {dlt_scale}) #{i}") for i in (1, 2)]
for name, label in labels:
    wall, rss, cpu = runs[name]
    n = published(name)
    print(f"{label:<46} {wall:>8.2f} {cpu:>7.2f} {rss:>13.1f} {n:>10,} {n / wall:>9,.0f}")
print("(CPU: the process's user and system time; rows: inserted + updated in huntr-sync's summary,")
print(" which counts its state's changes; dlt's rows)")

# The day's counters against the day's run: what each table's counters
# moved by, and what the run reports for it (the bookkeeping tables: one
# row of _huntr_sync_runs, one of _huntr_sync_run_tables a table reported).
def stats(path):
    return {t: [int(n) for n in ns] for t, *ns in (line.split() for line in open(path))}
before, after = stats(f"{work}/stats_before"), stats(f"{work}/stats_after")
counted = {t: [a - b for a, b in zip(v, before.get(t, [0, 0, 0]))] for t, v in after.items()}
reported = stats(f"{work}/run_report")
reported["_huntr_sync_run_tables"] = [len(reported), 0, 0]
reported["_huntr_sync_runs"] = [1, 0, 0]
total = lambda d: [sum(v[k] for v in d.values()) for k in range(3)]
for what, d in [("pg_stat_user_tables", counted), ("the run's report", reported)]:
    i, u, d_ = total(d)
    print(f"the day in {what + ':':<21} {i:>9,} inserted {u:>9,} updated {d_:>9,} deleted")
tables = sorted(set(counted) | set(reported))
differ = [t for t in tables if counted.get(t, [0, 0, 0]) != reported.get(t, [0, 0, 0])]
for t in differ:
    print(f"  {t}: counted {counted.get(t, [0, 0, 0])}, reported {reported.get(t, [0, 0, 0])}")

# From the server's log: each statement's end, duration, session and
# text; the run it was part of; each run's publishing transaction (the
# session that merged, from its first statement's start to its last's end).
OWN = ("VACUUM", "CHECKPOINT", "DROP ", "CREATE DATABASE", "SELECT relname, n_tup_ins",
       "SELECT count(*) FROM pg_stat_activity", "SELECT table_name, inserted")
statements = []
for line in open(server_log, errors="replace"):
    m = re.match(r"(\S+ \S+) UTC \[(\d+)\] LOG:  duration: ([0-9.]+) ms  (?:execute [^:]*|statement): (.*)", line)
    if m:
        end = datetime.strptime(m[1], "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=timezone.utc).timestamp()
        run = next((n for n, (a, b) in spans.items() if a <= end <= b + 1), None)
        if run is None or m[4].startswith(OWN):
            continue  # the bench's own statements (settling, resetting, counting)
        statements.append((float(m[3]) / 1000, end, m[2], run, m[4]))
publishing = {}
for pid in {pid for _, _, pid, _, text in statements if text.startswith("WITH up AS")}:
    mine = [(end - d, end, run) for d, end, p, run, _ in statements if p == pid]
    publishing[mine[0][2]] = max(e for _, e, _ in mine) - min(s for s, _, _ in mine)
for name in ("pg_full", "pg_full_b", "pg_full_c", "pg_day", "pg_day2", "hs_small_1", "hs_small_2", "hs_small_3"):
    if name in publishing:
        print(f"{name}: publishing took {publishing[name]:.2f} s of its {runs[name][0]:.2f} s")
print("huntr-sync's slowest statements (server side):")
for seconds, _, _, run, text in sorted(statements, reverse=True)[:8]:
    print(f"  {seconds:6.1f} s  {run:<12} {text[:80]}")

pg_full = statistics.median(runs[f"pg_full{s}"][0] for s in ("", "_b", "_c"))
sq_full = statistics.median(runs[f"sqlite_full{s}"][0] for s in ("", "_b", "_c"))
pg_rss = max(runs[f"pg_full{s}"][1] for s in ("", "_b", "_c"))
pg_day = runs["pg_day"][0] + runs["pg_day2"][0]
sq_day = runs["sqlite_day"][0] + runs["sqlite_day2"][0]
hs = statistics.median(runs[f"hs_small_{i}"][0] for i in (1, 2, 3))
sq_small = statistics.median(runs[f"sqlite_small_{i}"][0] for i in (1, 2, 3))
dl = min(runs[f"dlt_small_{i}"][0] for i in (1, 2))
print(f"PostgreSQL against SQLite: a full sync (median of 3) {pg_full:.2f} s / {sq_full:.2f} s = {pg_full / sq_full:.2f}x, "
      f"two days {pg_day:.2f} s / {sq_day:.2f} s = {pg_day / sq_day:.2f}x")
print(f"dlt (faster of 2) against huntr-sync (median of 3; SQLite's: {sq_small:.2f} s), "
      f"scale {dlt_scale}: {dl:.2f} s / {hs:.2f} s = {dl / hs:.1f}x")
goals = [
    ("full sync into PostgreSQL within 1.3x of SQLite's wall time", pg_full <= 1.3 * sq_full),
    ("full sync into PostgreSQL: peak RSS at most 100 MiB", pg_rss <= 100),
    ("huntr-sync at least 10x faster than dlt into PostgreSQL", dl >= 10 * hs),
    ("a day: pg_stat_user_tables equals the run's reported changes", not differ),
    ("two days into PostgreSQL within 1.2x of SQLite's wall time", pg_day <= 1.2 * sq_day),
]
for goal, ok in goals:
    print(f"{'PASS' if ok else 'FAIL'}: {goal}")
sys.exit(0 if all(ok for _, ok in goals) else 1)
EOF
