#!/usr/bin/env bash
# Benchmark huntr-sync against the sandbox organization (run in its own
# process) and print, for a full sync into SQLite and into Parquet and for a
# no-change run: wall time, rows per second, peak RSS, requests, and the
# ratio to the floor (a plain sequential download of the same pages,
# measured in the same run).
#
#   scripts/bench.sh [--scale N] [--latency-ms L] [--rps R]
#
# --scale N      sandbox members (about 44 actions each; 23000 is ~1M actions)
# --latency-ms L added latency per request, in the sandbox
# --rps R        the sandbox's rate limit, and huntr-sync's limiter setting;
#                the script then also prints the achieved requests/second
set -euo pipefail
cd "$(dirname "$0")/.."

scale=23000 latency=0 rps=""
while [ $# -gt 0 ]; do
  case "$1" in
    --scale) scale=$2; shift 2 ;;
    --latency-ms) latency=$2; shift 2 ;;
    --rps) rps=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

# The profiling profile: release optimizations with line tables, so perf
# can attribute time. HUNTR_SYNC_BIN runs another build (e.g. an older
# release, to compare).
bin=${HUNTR_SYNC_BIN:-${CARGO_TARGET_DIR:-target}/profiling/huntr-sync}
[ -n "${HUNTR_SYNC_BIN:-}" ] || cargo build --profile profiling --quiet
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
token=bench-token
sandbox_args=(sandbox --port "$port" --scale "$scale" --token "$token" --latency-ms "$latency")
[ -n "$rps" ] && sandbox_args+=(--rps "$rps")

started=$(date +%s.%N)
"$bin" "${sandbox_args[@]}" > "$work/sandbox.log" 2>&1 &
sandbox=$!
trap 'kill $sandbox 2>/dev/null; rm -rf "$work"' EXIT
until grep -q "base URL" "$work/sandbox.log" 2>/dev/null; do
  kill -0 $sandbox 2>/dev/null || { cat "$work/sandbox.log"; exit 1; }
  sleep 0.2
done
ready=$(date +%s.%N)
url="http://127.0.0.1:$port/org"
export HUNTR_ORG_TOKEN=$token

client_rps=${rps:-10000}
cat > "$work/pipelines.toml" <<EOF
[pipelines.sqlite]
base_url = "$url"
destination = "sqlite:$work/bench.db"
requests_per_second = $client_rps
[pipelines.parquet]
base_url = "$url"
destination = "parquet:$work/pq"
requests_per_second = $client_rps
EOF

requests() { curl -s "http://127.0.0.1:$port/_sandbox/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"])'; }

# measure NAME COMMAND...: wall seconds, peak RSS (KiB), requests, JSON out
measure() {
  local name=$1; shift
  local before; before=$(requests)
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" > "$work/$name.json" 2> "$work/$name.err" || { cat "$work/$name.err"; exit 1; }
  local after; after=$(requests)
  read -r wall rss < "$work/time"
  echo "$name $wall $rss $((after - before))" >> "$work/results"
}

measure floor "$bin" floor --base-url "$url"
measure sqlite "$bin" sync --config "$work/pipelines.toml" --pipeline sqlite --json
measure nochange "$bin" sync --config "$work/pipelines.toml" --pipeline sqlite --json
measure parquet "$bin" sync --config "$work/pipelines.toml" --pipeline parquet --json

python3 - "$work" "$scale" "$latency" "${rps:-none}" "$(python3 -c "print(round($ready - $started, 2))")" <<'EOF'
import json, sys
work, scale, latency, rps, startup = sys.argv[1:6]
rows = {}
for line in open(f"{work}/results"):
    name, wall, rss, req = line.split()
    rows[name] = (float(wall), int(rss), int(req))
def loaded(name):
    try:
        r = json.load(open(f"{work}/{name}.json"))
        return sum(c["inserted"] + c["updated"] for c in r["tables"].values())
    except (ValueError, KeyError):
        return 0
floor = rows["floor"][0]
print(f"sandbox: scale {scale}, latency {latency} ms, rate limit {rps}; ready in {startup} s")
print(f"{'run':<22} {'wall s':>8} {'rows/s':>10} {'peak RSS MiB':>13} {'requests':>9} {'x floor':>8} {'req/s':>7}")
for name, label in [("floor", "floor (download only)"), ("sqlite", "full sync, SQLite"),
                    ("parquet", "full sync, Parquet"), ("nochange", "no-change run")]:
    wall, rss, req = rows[name]
    n = loaded(name) if name != "floor" else 0
    rate = f"{n / wall:,.0f}" if n else "-"
    ratio = f"{wall / floor:.2f}" if name in ("sqlite", "parquet") else "-"
    print(f"{label:<22} {wall:>8.2f} {rate:>10} {rss / 1024:>13.1f} {req:>9} {ratio:>8} {req / wall:>7.1f}")
goals = []
if rps != "none":
    wall, _, req = rows["sqlite"]
    share = req / wall / float(rps)
    print(f"backfill achieved {req / wall:.1f} requests/s against a limit of {rps} ({100 * share:.0f}%)")
    goals.append((f"backfill at >= 85% of the rate limit", share >= 0.85))
elif float(latency) == 0:
    goals.append(("SQLite sync within 2x the floor", rows["sqlite"][0] / floor <= 2.0))
    goals.append(("Parquet sync within 2.5x the floor", rows["parquet"][0] / floor <= 2.5))
goals.append(("peak RSS under 100 MiB", max(rows[n][1] for n in ("sqlite", "parquet", "nochange")) < 100 * 1024))
missed = [g for g, ok in goals if not ok]
for g, ok in goals:
    print(f"goal: {g}: {'met' if ok else 'MISSED'}")
sys.exit(1 if missed else 0)
EOF
