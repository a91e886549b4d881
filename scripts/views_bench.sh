#!/usr/bin/env bash
# What the outcome views cost a sync, at sandbox scale 2,000 by default:
# a full sync into SQLite is timed, then, on its database, (1) writing the
# views as a run does when they are missing (dropped first) and (2) a
# run's check that finds them current; each is printed as a share of the
# full sync (the goal: writing them costs at most 5%; the script exits 1
# when it is missed). For information, (3) reading every
# view in full (what a BI query pays, not the sync) is printed too.
#
#   scripts/views_bench.sh [--scale N]
#
# HUNTR_SYNC_BIN runs another build (default: the release build).
set -euo pipefail
cd "$(dirname "$0")/.."

scale=2000
while [ $# -gt 0 ]; do
  case "$1" in
    --scale) scale=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
bin=${HUNTR_SYNC_BIN:-${CARGO_TARGET_DIR:-target}/release/huntr-sync}
[ -n "${HUNTR_SYNC_BIN:-}" ] || cargo build --release --quiet -p huntr-sync
work=$(mktemp -d)
source scripts/sandbox.sh
trap 'kill ${sandbox:-} 2>/dev/null; rm -rf "$work"' EXIT
start_sandbox "$bin" "$work" --scale "$scale" --token bench-token
export HUNTR_ORG_TOKEN=bench-token
cat > "$work/pipelines.toml" <<TOML
[pipelines.sqlite]
base_url = "http://127.0.0.1:$port/org"
destination = "sqlite:$work/bench.db"
requests_per_second = 10000
TOML
args=(--config "$work/pipelines.toml" --pipeline sqlite)

t0=$(date +%s.%N)
"$bin" sync "${args[@]}" --json > "$work/full.json"
t1=$(date +%s.%N)
"$bin" views --dialect sqlite "${args[@]}" > "$work/views.sql"

python3 - "$work" "$scale" "$(python3 -c "print($t1 - $t0)")" <<'EOF'
import sqlite3, sys, time
work, scale, full = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
views = ["members_wide", "job_pipeline", "member_outcomes", "outcomes_by_month",
         "outcomes_by_field", "employer_outcomes", "advisor_caseload"]
db = sqlite3.connect(f"{work}/bench.db", isolation_level=None)
script = open(f"{work}/views.sql").read()
# (1) written from scratch, in one transaction, as a run does.
for v in reversed(views):
    db.execute(f'DROP VIEW IF EXISTS "{v}"')
t = time.perf_counter()
db.executescript("BEGIN;\n" + script + "COMMIT;")
create = time.perf_counter() - t
# (2) a run's check: read the fields, compare each view's SQL.
t = time.perf_counter()
db.execute("SELECT id, name, field_type FROM member_fields WHERE removed_at IS NULL").fetchall()
for v in views:
    db.execute("SELECT sql FROM sqlite_master WHERE type = 'view' AND name = ?", (v,)).fetchone()
check = time.perf_counter() - t
# (3) every view read in full.
reads = {}
for v in views:
    t = time.perf_counter()
    n = len(db.execute(f'SELECT * FROM "{v}"').fetchall())
    reads[v] = (time.perf_counter() - t, n)
pct = lambda s: f"{100 * s / full:.3f}%"
print(f"scale {scale}: full sync into SQLite {full:.2f} s")
print(f"  views written (missing before):   {create * 1000:8.1f} ms  {pct(create)} of the sync")
print(f"  views found current (every run):  {check * 1000:8.1f} ms  {pct(check)} of the sync")
print("  reading each view in full (a query's cost, not the sync's):")
for v, (s, n) in reads.items():
    print(f"    {v:18} {n:7} rows {s * 1000:8.1f} ms  {pct(s)}")
total = sum(s for s, _ in reads.values())
print(f"    {'all views':18} {'':7}      {total * 1000:8.1f} ms  {pct(total)}")
ok = create <= 0.05 * full
print(f"{'PASS' if ok else 'FAIL'}: writing the views costs a sync at most 5% of its time")
sys.exit(0 if ok else 1)
EOF
