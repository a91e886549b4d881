#!/usr/bin/env bash
# This build against an earlier commit, on this machine and the same input:
# a full sync at scale N into SQLite and into Parquet (CPU seconds, user +
# system, and peak RSS), then the webhook receiver under load (accepted
# deliveries per second and its peak RSS). Runs alternate between the two
# builds, RUNS times each (a machine's speed drifts between hours, so only
# alternated runs compare), and the script prints each figure's median and
# the ratio new / base. It exits non-zero when a figure is worse than the
# base by more than the noise this machine shows (10%).
#
#   scripts/compare_builds.sh [--base COMMIT] [--scale N] [--runs R]
#
# The base is built once in a worktree (target/compare-COMMIT, about 8
# minutes on 2 cores); BASE_BIN runs one already built, NEW_BIN another new
# build (default: the release build). The load generator is this tree's
# huntr-bench, for both receivers.
set -euo pipefail
cd "$(dirname "$0")/.."

base_commit=16e89cf scale=2000 runs=5
while [ $# -gt 0 ]; do
  case "$1" in
    --base) base_commit=$2; shift 2 ;;
    --scale) scale=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

new=${NEW_BIN:-target/release/huntr-sync}
load=target/release/huntr-bench
[ -n "${NEW_BIN:-}" ] || cargo build --release --quiet -p huntr-sync
cargo build --release --quiet -p huntr-bench
base=${BASE_BIN:-}
if [ -z "$base" ]; then
  tree=target/compare-$base_commit/src
  [ -d "$tree" ] || git worktree add --detach "$tree" "$base_commit" > /dev/null
  CARGO_TARGET_DIR="$PWD/target/compare-$base_commit/target" \
    cargo build --release --quiet -p huntr-sync --manifest-path "$tree/Cargo.toml"
  base=target/compare-$base_commit/target/release/huntr-sync
fi

work=$(mktemp -d)
source scripts/sandbox.sh
trap 'kill ${sandbox:-} ${receiver:-} 2>/dev/null; rm -rf "$work"' EXIT
start_sandbox "$new" "$work" --scale "$scale" --token cmp-token
export HUNTR_ORG_TOKEN=cmp-token
for dest in sqlite parquet; do
  at="$work/out-$dest"
  [ $dest = sqlite ] && at="$work/out.db"
  cat >> "$work/pipelines.toml" <<EOF
[pipelines.$dest]
base_url = "http://127.0.0.1:$port/org"
destination = "$dest:$at"
requests_per_second = 10000
EOF
done

# One full sync of `$2` by build `$1`, from nothing: "cpu_seconds rss_kib".
sync_once() {
  rm -rf "$work"/out*
  /usr/bin/time -f "%U %S %M" -o "$work/time" "$1" sync --config "$work/pipelines.toml" \
    --pipeline "$2" > /dev/null 2> "$work/err" || { cat "$work/err"; exit 1; }
  read -r user system rss < "$work/time"
  echo "$(python3 -c "print($user + $system)") $rss"
}

# The receiver of build `$1` under 20,000 signed deliveries, 64 in flight,
# into SQLite with durable commits: "accepted_per_second rss_kib".
webhook_once() {
  local rport
  rport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  rm -f "$work"/hooks.db*
  HUNTR_WEBHOOK_SECRET=cmp-secret /usr/bin/time -f "%M" -o "$work/rss" "$1" webhook serve \
    --destination "sqlite:$work/hooks.db" --listen "127.0.0.1:$rport" 2> "$work/serve.log" &
  receiver=$!
  until grep -q "receiving webhooks" "$work/serve.log" 2>/dev/null; do sleep 0.1; done
  HUNTR_WEBHOOK_SECRET=cmp-secret "$load" webhook-load --url "http://127.0.0.1:$rport/" \
    --count 20000 --concurrency 64 > "$work/load.json"
  kill -TERM "$(pgrep -P "$receiver")"
  wait "$receiver"
  echo "$(python3 -c "import json; print(json.load(open('$work/load.json'))['accepted_per_second'])") $(cat "$work/rss")"
}

for i in $(seq "$runs"); do
  for name in base new; do
    bin=$base; [ $name = new ] && bin=$new
    for dest in sqlite parquet; do
      echo "$name $dest $(sync_once "$bin" "$dest")" >> "$work/results"
    done
    echo "$name webhook $(webhook_once "$bin")" >> "$work/results"
  done
done

python3 - "$work/results" "$scale" "$base_commit" "$runs" <<'EOF'
import statistics, sys
path, scale, commit, runs = sys.argv[1:]
seen = {}
for line in open(path):
    name, what, value, rss = line.split()
    seen.setdefault((name, what), []).append((float(value), int(rss) / 1024))
def med(name, what, i):
    return statistics.median(v[i] for v in seen[(name, what)])
print(f"scale {scale}, medians of {runs} alternated runs; base {commit}, new this build")
print(f"{'figure':<40} {'base':>9} {'new':>9} {'new/base':>9}")
worse = []
rows = [("full sync into SQLite, CPU s", "sqlite", 0, False),
        ("full sync into SQLite, peak RSS MiB", "sqlite", 1, False),
        ("full sync into Parquet, CPU s", "parquet", 0, False),
        ("full sync into Parquet, peak RSS MiB", "parquet", 1, False),
        ("webhook receiver, accepted/s", "webhook", 0, True),
        ("webhook receiver, peak RSS MiB", "webhook", 1, False)]
for label, what, i, higher_is_better in rows:
    b, n = med("base", what, i), med("new", what, i)
    ratio = n / b
    print(f"{label:<40} {b:>9.2f} {n:>9.2f} {ratio:>9.2f}")
    if (ratio < 0.9) if higher_is_better else (ratio > 1.1):
        worse.append(label)
if worse:
    print("worse than the base beyond noise: " + "; ".join(worse))
sys.exit(1 if worse else 0)
EOF
