#!/usr/bin/env bash
# Benchmark `huntr-sync push invitations` against the sandbox (in its own
# process) under a rate limit: N new invitations (default 1,000) at R
# requests/s (default 20). Prints wall time, CPU seconds, requests, the
# sandbox's 429s, invitations applied, and checks the goal: the push takes
# at most 1.1 x (N / R) seconds and every email is invited exactly once.
#
#   scripts/push_bench.sh [--rows N] [--rps R] [--latency-ms L]
set -euo pipefail
cd "$(dirname "$0")/.."

rows=1000 rps=20 latency=20
while [ $# -gt 0 ]; do
  case "$1" in
    --rows) rows=$2; shift 2 ;;
    --rps) rps=$2; shift 2 ;;
    --latency-ms) latency=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

bin=${HUNTR_SYNC_BIN:-${CARGO_TARGET_DIR:-target}/release/huntr-sync}
[ -n "${HUNTR_SYNC_BIN:-}" ] || cargo build --release --quiet
work=$(mktemp -d)
token=bench-token
source scripts/sandbox.sh
trap 'kill ${sandbox:-} 2>/dev/null; rm -rf "$work"' EXIT
start_sandbox "$bin" "$work" --scale 200 --token "$token" --latency-ms "$latency" --rps "$rps"
url="http://127.0.0.1:$port/org"
export HUNTR_ORG_TOKEN=$token
cat > "$work/pipelines.toml" <<EOF
[pipelines.bench]
base_url = "$url"
destination = "sqlite:$work/push.db"
requests_per_second = $rps
EOF
python3 - "$work/invite.csv" "$rows" <<'EOF'
import sys
path, n = sys.argv[1], int(sys.argv[2])
cities = ["Vancouver", "Seattle", "New York", "Montreal", "Miami"]
with open(path, "w") as f:
    f.write("email,board_name,Location,Age,Graduation\n")
    for i in range(n):
        f.write(f"cohort{i}@example.edu,Job Search 2027,{cities[i % 5]},{20 + i % 15},2027-05-{1 + i % 28:02d}\n")
EOF
stats() { curl -s "http://127.0.0.1:$port/_sandbox/stats" | python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["requests"], s["throttled"])'; }
read -r req0 thr0 <<< "$(stats)"
/usr/bin/time -f "%e %U %S %M" -o "$work/time" "$bin" push invitations --from "$work/invite.csv" \
  --config "$work/pipelines.toml" --pipeline bench --yes --json > "$work/out.json" 2> "$work/err" \
  || { cat "$work/err"; exit 1; }
read -r req1 thr1 <<< "$(stats)"
read -r wall user sys rss < "$work/time"
curl -s "http://127.0.0.1:$port/_sandbox/writes" > "$work/writes.json"
python3 - "$work" "$rows" "$rps" "$wall" "$user" "$sys" "$rss" "$((req1 - req0))" "$((thr1 - thr0))" <<'EOF'
import json, sys
work, rows, rps, wall, user, sys_, rss, requests, throttled = sys.argv[1:10]
rows, rps, wall, requests, throttled = int(rows), float(rps), float(wall), int(requests), int(throttled)
summary = json.load(open(f"{work}/out.json"))
writes = json.load(open(f"{work}/writes.json"))
counts = writes.get("invitations_by_email", {})
bound = 1.1 * rows / rps
print(f"push of {rows} invitations at {rps:g} requests/s: {wall:.1f} s wall "
      f"(goal <= {bound:.1f} s = 1.1 x {rows}/{rps:g}), cpu {float(user) + float(sys_):.2f} s, "
      f"peak RSS {int(rss) / 1024:.1f} MiB")
print(f"requests {requests} ({requests / wall:.1f}/s), 429s {throttled}, sent {summary['sent']}, "
      f"failed {summary['failed']}, invitations applied {sum(counts.values())} for {len(counts)} emails")
goals = [
    (f"wall time at most {bound:.1f} s", wall <= bound),
    ("every email invited exactly once", len(counts) == rows and all(v == 1 for v in counts.values())),
]
for name, ok in goals:
    print(f"{'ok  ' if ok else 'MISS'} {name}")
sys.exit(0 if all(ok for _, ok in goals) else 1)
EOF
