#!/usr/bin/env bash
# Soak test (not in CI): runs the tracking_server example, built in release mode, under
# sustained load from wrk over loopback, then reports throughput, errors and resident memory
# at start and end.
#
# Usage: scripts/soak.sh [SECONDS] [CONNECTIONS]     (defaults: 60 s, 32 connections)
#
# The load is call+poll pairs of /get_all_projects (each POST's event id is polled on the same
# connection) mixed with GET /gradio_api/info. wrk comes from Debian's packages; the script
# installs it when missing (needs root, as on this project's machines).
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
conns="${2:-32}"

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cargo build --release --example tracking_server -q

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
./target/release/examples/tracking_server --port "$port" > /tmp/soak-server.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/gradio_api/info" >/dev/null && break; sleep 0.1; done

rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$server/status"; }
lua=$(mktemp --suffix=.lua)
cat > "$lua" <<'LUA'
local pending = {}
local n = 0
function request()
  n = n + 1
  local id = table.remove(pending)
  if id then
    return wrk.format("GET", "/gradio_api/call/get_all_projects/" .. id)
  elseif n % 3 == 0 then
    return wrk.format("GET", "/gradio_api/info")
  end
  return wrk.format("POST", "/gradio_api/call/get_all_projects", {["Content-Type"] = "application/json"}, '{"data": []}')
end
function response(status, headers, body)
  local id = body:match('"event_id":"(%x+)"')
  if id then table.insert(pending, id) end
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("errors: connect %d, read %d, write %d, status %d, timeout %d\n",
    e.connect, e.read, e.write, e.status, e.timeout))
end
LUA

echo "soak: ${secs} s, ${conns} connections, tracking_server on 127.0.0.1:$port (release build)"
start_rss=$(rss)
wrk -t1 -c"$conns" -d"${secs}s" -s "$lua" --latency "http://127.0.0.1:$port" | tee /tmp/soak-wrk.txt
end_rss=$(rss)
echo "resident memory: start ${start_rss} KiB, end ${end_rss} KiB"
kill -0 $server && echo "server still up"
