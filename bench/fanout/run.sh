#!/usr/bin/env bash
# WebSocket fan-out benchmark: builds libchat-server and fanout_bench, starts the
# server on 127.0.0.1 (a port the kernel picks) with a fresh database, runs
# fanout_bench against it and stops the server.
#
# Both processes hold one descriptor per connection: the script raises `ulimit -n`
# (as root beyond the hard limit) before starting either.
#
# Usage: bench/fanout/run.sh [extra fanout_bench flags]   (environment variables below tune it)
#   BUILD_DIR         build tree (default <repo>/build-bench; configured Release if absent)
#   DB_DIR            where the temporary database goes (default: $BUILD_DIR)
#   CONNECTIONS       N, customer WebSocket connections (default 10000)
#   MEMBERS           M, channel members among them (default 1000)
#   RATE              R, messages per second (default 20)
#   DURATION          D, seconds of measured publishing (default 30)
#   SOURCE_ADDRESSES  K, loopback source addresses (default: one per 20,000 connections)
#   SERVER_ARGS       extra libchat-server flags, e.g. "--io-threads 1"
#   SERVER_WRAPPER    command the server runs under, e.g. "perf record -g -o /tmp/fanout.perf"
#   KEEP=1            keep the database and the server log
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$root/build-bench}"
DB_DIR="${DB_DIR:-$BUILD_DIR}"
CONNECTIONS="${CONNECTIONS:-10000}"
MEMBERS="${MEMBERS:-1000}"
RATE="${RATE:-20}"
DURATION="${DURATION:-30}"
SOURCE_ADDRESSES="${SOURCE_ADDRESSES:-$(((CONNECTIONS + MEMBERS + 19999) / 20000))}"
SERVER_ARGS="${SERVER_ARGS:-}"
SERVER_WRAPPER="${SERVER_WRAPPER:-}"
KEEP="${KEEP:-0}"

log() { printf '%s\n' "$*" >&2; }
die() { log "run.sh: $*"; exit 1; }

# --- descriptors: connections + HTTP connections + the server's own files, with room to spare
want_files=$((CONNECTIONS + MEMBERS + 1024))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$want_files" ]; then
  ulimit -n "$want_files" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
fi
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge "$want_files" ] ||
  die "needs $want_files descriptors, ulimit -n is $(ulimit -n) (hard $(ulimit -Hn)); run as root or lower CONNECTIONS"
read -r port_low port_high </proc/sys/net/ipv4/ip_local_port_range
per_address=$(((CONNECTIONS + MEMBERS + SOURCE_ADDRESSES - 1) / SOURCE_ADDRESSES))
[ "$per_address" -lt $((port_high - port_low)) ] ||
  die "$per_address connections per source address exceed the ephemeral port range $port_low-$port_high; raise SOURCE_ADDRESSES"

# --- build if needed
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  log "run.sh: configuring $BUILD_DIR (Release)"
  cmake -S "$root" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >&2
fi
build_type="$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt")"
case "$build_type" in
  Release | RelWithDebInfo) ;;
  *) log "run.sh: WARNING: $BUILD_DIR is a '$build_type' build, not an optimized one" ;;
esac
cmake --build "$BUILD_DIR" -j2 --target libchat-server fanout_bench >&2
server_bin="$BUILD_DIR/server/libchat-server"
bench_bin="$BUILD_DIR/bench/fanout_bench"
[ -x "$server_bin" ] && [ -x "$bench_bin" ] || die "missing $server_bin or $bench_bin after the build"

# --- server on a fresh database
# shellcheck source=../bench_server.sh
. "$root/bench/bench_server.sh"
start_bench_server "$server_bin" fanout_bench
# Under a wrapper the pid of interest is the server itself, not the wrapper.
measured_pid="$server_pid"
if [ -n "$SERVER_WRAPPER" ]; then
  child="$(pgrep -P "$server_pid" -f libchat-server | head -n1 || true)"
  [ -n "$child" ] && measured_pid="$child"
fi
log "run.sh: server pid $measured_pid on 127.0.0.1:$port, database $work/bench.db, ulimit -n $(ulimit -n)"

echo "== machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM," \
  "kernel $(uname -r), load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== server: $server_bin $SERVER_ARGS"
(
  set -x  # the exact command, for the record
  "$bench_bin" --url "http://127.0.0.1:$port" --connections "$CONNECTIONS" --members "$MEMBERS" --rate "$RATE" \
    --duration "$DURATION" --source-addresses "$SOURCE_ADDRESSES" --server-pid "$measured_pid" "$@"
)
