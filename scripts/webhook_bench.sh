#!/usr/bin/env bash
# Load test of the webhook receiver on loopback: COUNT signed deliveries,
# CONCURRENCY in flight, into a SQLite destination with durable commits.
# Prints accepted deliveries per second, rows stored and the receiver's
# peak RSS.
#
#   scripts/webhook_bench.sh [COUNT] [CONCURRENCY]
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-20000}
concurrency=${2:-64}

# The profiling profile: release optimizations with line tables, so perf
# can attribute time. HUNTR_SYNC_BIN runs another build of the receiver
# (e.g. an older release, to compare); the load always comes from this
# tree's huntr-bench.
bin=${HUNTR_SYNC_BIN:-${CARGO_TARGET_DIR:-target}/profiling/huntr-sync}
bench=${CARGO_TARGET_DIR:-target}/profiling/huntr-bench
if [ -n "${HUNTR_SYNC_BIN:-}" ]; then
  cargo build --profile profiling --quiet -p huntr-bench
else
  cargo build --profile profiling --quiet -p huntr-sync -p huntr-bench
fi
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export HUNTR_WEBHOOK_SECRET=bench-secret-5d1e

/usr/bin/time -f "%M" -o "$work/rss" "$bin" webhook serve --destination "sqlite:$work/hooks.db" \
  --listen "127.0.0.1:$port" 2> "$work/serve.log" &
timer=$!
trap 'kill $timer 2>/dev/null; rm -rf "$work"' EXIT
until grep -q "receiving webhooks" "$work/serve.log" 2>/dev/null; do sleep 0.1; done
server=$(pgrep -P "$timer")

"$bench" webhook-load --url "http://127.0.0.1:$port/" --count "$count" --concurrency "$concurrency" > "$work/load.json"
kill -TERM "$server"
wait "$timer"

stored=$(python3 -c "import sqlite3; print(sqlite3.connect('$work/hooks.db').execute('SELECT COUNT(*) FROM actions').fetchone()[0])")
python3 - "$work/load.json" "$(cat "$work/rss")" "$stored" "$concurrency" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
rss_mib = int(sys.argv[2]) / 1024
print(f"{r['sent']} signed deliveries, {sys.argv[4]} in flight, durable commits")
print(f"accepted {r['accepted']} ({r['accepted_per_second']:,.0f}/s), busy (503) {r['busy']}, failed {r['failed']}, in {r['seconds']:.2f} s")
print(f"actions stored {sys.argv[3]}; receiver peak RSS {rss_mib:.1f} MiB")
PY
