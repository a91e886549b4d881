#!/usr/bin/env bash
# Benchmark huntr-sync against the sandbox organization (run in its own
# process) and print, for a full sync into SQLite, Parquet and Delta Lake
# (local disk) and for a no-change run: wall time, CPU seconds (user + system, and the system
# share), rows per second, peak RSS, requests, and the
# ratio to the floor (a plain sequential download of the same pages,
# measured in the same run).
#
#   scripts/bench.sh [--scale N] [--latency-ms L] [--rps R [--auto]]
#
# --scale N      sandbox members (about 44 actions each; 23000 is ~1M actions)
# --latency-ms L added latency per request, in the sandbox
# --rps R        the sandbox's rate limit, and huntr-sync's limiter setting;
#                the script then also prints the achieved requests/second and
#                checks that the SQLite backfill makes at most 3% more
#                requests than the floor, in at most 5% more than
#                requests / R seconds
# --auto         with --rps: huntr-sync runs with requests_per_second =
#                "auto" (not told the limit); the script samples the
#                sandbox's counters during the SQLite backfill and checks
#                that its second half runs within 10% of R, with rate-limit
#                429s under 5% of its requests
set -euo pipefail
cd "$(dirname "$0")/.."

scale=23000 latency=0 rps="" auto=""
while [ $# -gt 0 ]; do
  case "$1" in
    --scale) scale=$2; shift 2 ;;
    --latency-ms) latency=$2; shift 2 ;;
    --rps) rps=$2; shift 2 ;;
    --auto) auto=1; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ -n "$auto" ] && [ -z "$rps" ]; then
  echo "--auto needs --rps R (the sandbox's limit, which huntr-sync is not told)" >&2
  exit 2
fi

# The profiling profile: release optimizations with line tables, so perf
# can attribute time. HUNTR_SYNC_BIN runs another build of huntr-sync (e.g.
# an older release, to compare); the floor is always this tree's
# huntr-bench, which downloads what this tree's sync reads.
bin=${HUNTR_SYNC_BIN:-${CARGO_TARGET_DIR:-target}/profiling/huntr-sync}
bench=${CARGO_TARGET_DIR:-target}/profiling/huntr-bench
if [ -n "${HUNTR_SYNC_BIN:-}" ]; then
  cargo build --profile profiling --quiet -p huntr-bench
else
  cargo build --profile profiling --quiet -p huntr-sync -p huntr-bench
fi
work=$(mktemp -d)
token=bench-token
sandbox_args=(--scale "$scale" --token "$token" --latency-ms "$latency")
[ -n "$rps" ] && sandbox_args+=(--rps "$rps")

source scripts/sandbox.sh
trap 'kill ${sandbox:-} ${sampler:-} 2>/dev/null; rm -rf "$work"' EXIT
started=$(date +%s.%N)
start_sandbox "$bin" "$work" "${sandbox_args[@]}"
ready=$(date +%s.%N)
url="http://127.0.0.1:$port/org"
export HUNTR_ORG_TOKEN=$token

client_rps=${rps:-10000}
[ -n "$auto" ] && client_rps='"auto"'
cat > "$work/pipelines.toml" <<EOF
[pipelines.sqlite]
base_url = "$url"
destination = "sqlite:$work/bench.db"
requests_per_second = $client_rps
[pipelines.parquet]
base_url = "$url"
destination = "parquet:$work/pq"
requests_per_second = $client_rps
[pipelines.delta]
base_url = "$url"
destination = "delta:$work/delta"
requests_per_second = $client_rps
EOF

# The sandbox's counters: "requests throttled rereads" (throttled: its rate
# limit's 429s; rereads: GET /jobs/<id>, change capture's re-reads).
counters() { curl -s "http://127.0.0.1:$port/_sandbox/stats" | python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["requests"], s["throttled"], s["by_endpoint"].get("jobs/<id>", 0))'; }

# measure NAME COMMAND...: wall seconds, peak RSS (KiB), requests, 429s, JSON out
measure() {
  local name=$1; shift
  local before after
  read -r -a before <<< "$(counters)"
  /usr/bin/time -f "%e %M %U %S" -o "$work/time" "$@" > "$work/$name.json" 2> "$work/$name.err" || { cat "$work/$name.err"; exit 1; }
  read -r -a after <<< "$(counters)"
  read -r wall rss user sys < "$work/time"
  echo "$name $wall $rss $((after[0] - before[0])) $((after[1] - before[1])) $((after[2] - before[2])) $user $sys" >> "$work/results"
}

# With --auto: the sandbox's counters every 0.2 s, with the time.
sample() {
  while :; do echo "$(date +%s.%N) $(curl -s "http://127.0.0.1:$port/_sandbox/stats")"; sleep 0.2; done
}

measure floor "$bench" floor --base-url "$url"
if [ -n "$auto" ]; then sample > "$work/samples" & sampler=$!; fi
measure sqlite "$bin" sync --config "$work/pipelines.toml" --pipeline sqlite --json
if [ -n "$auto" ]; then kill "$sampler"; wait "$sampler" 2>/dev/null || true; fi
measure nochange "$bin" sync --config "$work/pipelines.toml" --pipeline sqlite --json
measure parquet "$bin" sync --config "$work/pipelines.toml" --pipeline parquet --json
measure delta "$bin" sync --config "$work/pipelines.toml" --pipeline delta --json

python3 - "$work" "$scale" "$latency" "${rps:-none}" "$(python3 -c "print(round($ready - $started, 2))")" "${auto:-0}" <<'EOF'
import json, sys
work, scale, latency, rps, startup, auto = sys.argv[1:7]
rows, throttled = {}, {}
reread, cpu = {}, {}
for line in open(f"{work}/results"):
    name, wall, rss, req, thr, rereads, user, system = line.split()
    cpu[name] = (float(user), float(system))
    rows[name] = (float(wall), int(rss), int(req))
    throttled[name] = int(thr)
    reread[name] = int(rereads)
def loaded(name):
    try:
        r = json.load(open(f"{work}/{name}.json"))
        return sum(c["inserted"] + c["updated"] for c in r["tables"].values())
    except (ValueError, KeyError):
        return 0
floor = rows["floor"][0]

def settled_goals(limit):
    """The SQLite backfill's second half, from the sandbox's counters."""
    samples = []
    for line in open(f"{work}/samples"):
        at, _, text = line.partition(" ")
        try:
            c = json.loads(text)
            samples.append((float(at), c["requests"], c["throttled"]))
        except (ValueError, KeyError):
            pass
    # While it was requesting: up to the last sample that saw a new request.
    active = [s for i, s in enumerate(samples) if i == 0 or s[1] > samples[i - 1][1]]
    first, last = active[0], active[-1]
    mid = next(s for s in samples if s[0] >= (first[0] + last[0]) / 2)
    span = last[0] - mid[0]
    answered = ((last[1] - last[2]) - (mid[1] - mid[2])) / span
    sent = (last[1] - mid[1]) / span
    req, thr = rows["sqlite"][2], throttled["sqlite"]
    print(f"auto rate, second half of the backfill ({span:.1f} s): {answered:.1f} answered requests/s "
          f"({sent:.1f} sent) against a limit of {limit:g}; rate-limit 429s: {thr} of {req} requests "
          f"({100 * thr / req:.1f}%)")
    return [("auto rate settles within 10% of the limit", abs(answered - limit) <= 0.1 * limit),
            ("auto rate: rate-limit 429s under 5% of requests", thr < 0.05 * req)]

client = "auto" if auto == "1" else (rps if rps != "none" else "unlimited")
print(f"sandbox: scale {scale}, latency {latency} ms, rate limit {rps}; ready in {startup} s; huntr-sync's rate: {client}")
print(f"{'run':<22} {'wall s':>8} {'cpu s':>6} {'(sys)':>6} {'rows/s':>10} {'peak RSS MiB':>13} {'requests':>9} {'429s':>5} {'x floor':>8} {'req/s':>7}")
for name, label in [("floor", "floor (download only)"), ("sqlite", "full sync, SQLite"),
                    ("parquet", "full sync, Parquet"), ("delta", "full sync, Delta"),
                    ("nochange", "no-change run")]:
    wall, rss, req = rows[name]
    n = loaded(name) if name != "floor" else 0
    rate = f"{n / wall:,.0f}" if n else "-"
    ratio = f"{wall / floor:.2f}" if name in ("sqlite", "parquet", "delta") else "-"
    user, system = cpu[name]
    print(f"{label:<22} {wall:>8.2f} {user + system:>6.2f} {system:>6.2f} {rate:>10} {rss / 1024:>13.1f} {req:>9} {throttled[name]:>5} {ratio:>8} {req / wall:>7.1f}")
goals = []
if rps != "none" and auto == "1":
    goals += settled_goals(float(rps))
elif rps != "none":
    wall, _, req = rows["sqlite"]
    share = req / wall / float(rps)
    print(f"backfill achieved {req / wall:.1f} requests/s against a limit of {rps} ({100 * share:.0f}%)")
    goals.append((f"backfill at >= 85% of the rate limit", share >= 0.85))
    # The floor downloads what a sync lists; change capture (re-reading or
    # re-listing jobs changed within the lookback before the run) comes on
    # top, and is shown apart.
    try:
        relist = json.load(open(f"{work}/sqlite.json")).get("jobs_relist_pages", 0)
    except ValueError:
        relist = 0
    capture = reread["sqlite"] + relist
    listed = req - capture
    extra = listed / rows["floor"][2]
    ideal = req / float(rps)
    print(f"backfill: {req} requests ({listed} listing, {reread['sqlite']} job re-reads, "
          f"{relist} job re-listing pages), "
          f"listing {extra:.3f} of the floor's {rows['floor'][2]}; "
          f"{wall:.2f} s, {wall / ideal:.3f} of {req} requests / {rps} per s = {ideal:.2f} s")
    goals.append(("backfill listing requests at most 3% above the floor's", extra <= 1.03))
    goals.append(("backfill wall within 5% of its requests / the limit", wall <= 1.05 * ideal))
elif float(latency) == 0:
    goals.append(("SQLite sync within 2x the floor", rows["sqlite"][0] / floor <= 2.0))
    goals.append(("Parquet sync within 2.5x the floor", rows["parquet"][0] / floor <= 2.5))
    if int(scale) >= 23000:
        goals.append(("SQLite sync within 1.3x the floor at a million actions",
                      rows["sqlite"][0] / floor <= 1.3))
# CPU per object read: the records of the resources' own tables that the
# SQLite backfill inserted. Printed, not checked: #15's goal (half of the
# CPU time of the code it measured) is checked on one machine by
# scripts/cpu_vs_issue15.sh; its own figure, 1.67 s for 108,891 objects,
# came from another machine, on which that code ran three times faster.
try:
    tables = json.load(open(f"{work}/sqlite.json"))["tables"]
except (ValueError, KeyError):
    tables = {}
resource_tables = ["members", "employers", "jobs", "activities", "actions", "activity_categories",
                   "member_fields", "board_templates", "organization_invitations", "events",
                   "goals", "job_posts", "candidates", "advisors", "member_groups", "tags",
                   "member_notes"]
objects = sum(tables.get(t, {}).get("inserted", 0) for t in resource_tables)
if objects:
    per = sum(cpu["sqlite"]) / objects * 100_000
    print(f"SQLite backfill: {objects:,} objects, {per:.2f} s of CPU per 100,000 "
          f"(against #15's code on this machine: scripts/cpu_vs_issue15.sh)")
(pq_wall, pq_rss, _), (dl_wall, dl_rss, _) = rows["parquet"], rows["delta"]
print(f"Delta against Parquet: wall {dl_wall / pq_wall:.2f}x, peak RSS {dl_rss / pq_rss:.2f}x")
goals.append(("Delta sync within 1.2x the Parquet sync", dl_wall <= 1.2 * pq_wall))
goals.append(("Delta peak RSS within 10% of the Parquet sync's", dl_rss <= 1.1 * pq_rss))
goals.append(("peak RSS under 100 MiB", max(rows[n][1] for n in ("sqlite", "parquet", "delta", "nochange")) < 100 * 1024))
missed = [g for g, ok in goals if not ok]
for g, ok in goals:
    print(f"goal: {g}: {'met' if ok else 'MISSED'}")
sys.exit(1 if missed else 0)
EOF
