# Sourced by the benchmark scripts: starts the sandbox organization in its
# own process on a free loopback port and waits until it serves.
#
#   start_sandbox BIN WORK ARGS...   (ARGS: the sandbox's, without --port)
#
# Sets `port` and `sandbox` (its pid); its output goes to WORK/sandbox.log.
# The caller's EXIT trap kills "$sandbox" (set the trap before calling,
# with the name quoted, so a failed start is cleaned up too).
start_sandbox() {
  local bin=$1 work=$2
  shift 2
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$bin" sandbox --port "$port" "$@" > "$work/sandbox.log" 2>&1 &
  sandbox=$!
  until grep -q "base URL" "$work/sandbox.log" 2>/dev/null; do
    kill -0 "$sandbox" 2>/dev/null || { cat "$work/sandbox.log"; exit 1; }
    sleep 0.2
  done
}
