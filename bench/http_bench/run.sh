#!/usr/bin/env bash
# Over-HTTP benchmark of SDK message posts (POST /v1/sdk/messages) with wrk.
#
# Starts build-bench/server/libchat-server on 127.0.0.1 (a port the kernel picks)
# with a fresh database, creates an account, an app and $SESSIONS SDK sessions
# (one support conversation each) with curl, then runs wrk twice:
#   peak: $PEAK_CONNECTIONS keep-alive connections, as fast as they go;
#   half: $HALF_CONNECTIONS connections, an approximation of "half of peak load"
#         (wrk cannot cap the request rate; fewer connections in a closed loop
#         offer less load; the achieved rate is printed so you can see how close
#         to half it is).
# Then it reads every conversation's last_seq through the API and checks that
# the messages stored match the 2xx responses (acknowledged = durable).
#
# Usage: bench/http_bench/run.sh            (environment variables below tune it)
#   BUILD_DIR         build tree (default <repo>/build-bench; configured Release if absent)
#   DB_DIR            where the temporary database goes (default: $BUILD_DIR). Keep it on
#                     the disk you want to measure: a tmpfs makes fsync free.
#   SESSIONS          SDK sessions / conversations (default 64)
#   THREADS           wrk threads (default 2)
#   PEAK_CONNECTIONS  (default 64)     HALF_CONNECTIONS (default 8)
#   DURATION          seconds per wrk run (default 15)
#   WARMUP            seconds of an unreported warm-up run (default 3; 0 skips it)
#   TEXT_BYTES        message text size (default 64)
#   SERVER_ARGS       extra libchat-server flags, e.g. "--workers 128 --io-threads 1"
#   SERVER_WRAPPER    command the server runs under, e.g. "valgrind --tool=callgrind" or "perf record -g"
#   KEEP=1            keep the database and the server log
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$root/build-bench}"
DB_DIR="${DB_DIR:-$BUILD_DIR}"
SESSIONS="${SESSIONS:-64}"
THREADS="${THREADS:-2}"
PEAK_CONNECTIONS="${PEAK_CONNECTIONS:-64}"
HALF_CONNECTIONS="${HALF_CONNECTIONS:-8}"
DURATION="${DURATION:-15}"
WARMUP="${WARMUP:-3}"
TEXT_BYTES="${TEXT_BYTES:-64}"
SERVER_ARGS="${SERVER_ARGS:-}"
SERVER_WRAPPER="${SERVER_WRAPPER:-}"
KEEP="${KEEP:-0}"

log() { printf '%s\n' "$*" >&2; }
die() { log "run.sh: $*"; exit 1; }

need_package() {  # need_package <command> <debian package>
  command -v "$1" >/dev/null 2>&1 && return 0
  log "run.sh: $1 is missing, installing the Debian package $2"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get install -y "$2" >&2 || die "cannot install $2; install it and retry"
}
need_package wrk wrk
need_package curl curl
need_package jq jq

[ "$SESSIONS" -ge "$THREADS" ] || die "SESSIONS ($SESSIONS) must be at least THREADS ($THREADS)"

# --- build (Release) if needed
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  log "run.sh: configuring $BUILD_DIR (Release)"
  cmake -S "$root" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >&2
fi
build_type="$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt")"
[ "$build_type" = "Release" ] || log "run.sh: WARNING: $BUILD_DIR is a '$build_type' build, not Release"
cmake --build "$BUILD_DIR" -j2 --target libchat-server >&2
server_bin="$BUILD_DIR/server/libchat-server"
[ -x "$server_bin" ] || die "no $server_bin after the build"

# --- server on a fresh database
# shellcheck source=../bench_server.sh
. "$root/bench/bench_server.sh"
start_bench_server "$server_bin" http_bench
base="http://127.0.0.1:$port"
log "run.sh: server pid $server_pid on $base, database $work/bench.db"

api() {  # api <method> <path> <json body or ""> [curl header args...]; prints the body, fails on non-2xx
  local method="$1" path="$2" body="$3"
  shift 3
  local out status
  out="$(curl -sS -X "$method" "$base$path" -H 'Content-Type: application/json' "$@" \
    ${body:+--data "$body"} -w '\n%{http_code}')"
  status="${out##*$'\n'}"
  out="${out%$'\n'*}"
  case "$status" in
    2??) printf '%s' "$out" ;;
    *) die "$method $path -> $status: $out" ;;
  esac
}

# --- account, app, sessions
account_token="$(api POST /v1/auth/register \
  '{"email":"bench@example.com","password":"correct horse battery staple","name":"Bench"}' | jq -r .token)"
pk="$(api POST /v1/apps '{"name":"bench"}' -H "Authorization: Bearer $account_token" | jq -r .publishable_key)"
[ -n "$pk" ] && [ "$pk" != null ] || die "no publishable key"
sessions=""
conversations=()
for i in $(seq "$SESSIONS"); do
  reply="$(api POST /v1/sdk/messages "{\"text\":\"hello from session $i\"}" -H "X-API-Key: $pk")"
  conv="$(jq -r .conversation_id <<<"$reply")"
  token="$(jq -r .session_token <<<"$reply")"
  [ "$conv" != null ] && [ "$token" != null ] || die "no session in: $reply"
  conversations+=("$conv")
  sessions="${sessions:+$sessions,}$conv:$token"
done
log "run.sh: $SESSIONS SDK sessions created"

# Counts what is stored: sum over the conversations of last_seq - 1 (seq 1 is the
# message that created the session).
stored_messages() {
  local total=0 conv seq
  for conv in "${conversations[@]}"; do
    seq="$(api GET "/v1/conversations/$conv" "" -H "Authorization: Bearer $account_token" | jq -r .last_seq)"
    total=$((total + seq - 1))
  done
  printf '%s' "$total"
}

export LIBCHAT_PK="$pk" LIBCHAT_SESSIONS="$sessions" LIBCHAT_WRK_THREADS="$THREADS" LIBCHAT_TEXT_BYTES="$TEXT_BYTES"

field() { sed -n "s/.*[ ]$1=\([0-9]*\).*/\1/p" <<<"$2"; }

# CPU time (user + system, in clock ticks) the server process has used so far.
clk_tck="$(getconf CLK_TCK)"
server_ticks() { awk '{ print $14 + $15 }' "/proc/$server_pid/stat"; }

total_2xx=0
in_flight_bound=0
run_wrk() {  # run_wrk <label> <connections> <seconds>
  local label="$1" connections="$2" seconds="$3"
  export LIBCHAT_RUN_ID="$label-$RANDOM$RANDOM"
  log ""
  log "run.sh: wrk -t$THREADS -c$connections -d${seconds}s --latency  ($label)"
  local out ticks_before ticks_after
  ticks_before="$(server_ticks)"
  out="$(wrk -t"$THREADS" -c"$connections" -d"${seconds}s" --latency -s "$here/post_message.lua" "$base")"
  ticks_after="$(server_ticks)"
  printf '%s\n' "$out" >&2
  local result
  result="$(grep '^RESULT ' <<<"$out")" || die "no RESULT line from wrk"
  local requests duration non2xx socket_errors ok
  requests="$(field requests "$result")"
  duration="$(field duration_us "$result")"
  non2xx="$(field non2xx "$result")"
  socket_errors=$(($(field connect "$result") + $(field read "$result") + $(field write "$result") + $(field timeout "$result")))
  ok=$((requests - non2xx))
  total_2xx=$((total_2xx + ok))
  # Requests still in flight when wrk stops may be stored without being counted.
  in_flight_bound=$((in_flight_bound + connections))
  # The warm-up row is printed too: it runs on short conversations, the later runs on longer ones.
  printf '%-6s connections=%-4s requests/s=%-6s p50=%-8s p99=%-9s max=%-9s 2xx=%-7s non2xx=%s socket_errors=%s' \
    "$label" "$connections" "$(awk -v r="$requests" -v d="$duration" 'BEGIN { printf "%.0f", r / (d / 1e6) }')" \
    "$(awk -v v="$(field p50_us "$result")" 'BEGIN { printf "%.2fms", v / 1000 }')" \
    "$(awk -v v="$(field p99_us "$result")" 'BEGIN { printf "%.2fms", v / 1000 }')" \
    "$(awk -v v="$(field max_us "$result")" 'BEGIN { printf "%.2fms", v / 1000 }')" \
    "$ok" "$non2xx" "$socket_errors" >>"$work/summary.txt"
  # Server CPU (all its threads) per request, and in cores over the run: wrk shares the machine.
  awk -v t=$((ticks_after - ticks_before)) -v hz="$clk_tck" -v r="$requests" -v d="$duration" \
    'BEGIN { printf " server_cpu=%.0fus/req (%.2f cores)\n", (r > 0 ? t / hz * 1e6 / r : 0), t / hz / (d / 1e6) }' \
    >>"$work/summary.txt"
  [ "$non2xx" -eq 0 ] || log "run.sh: WARNING: $non2xx non-2xx responses in the $label run"
}

: >"$work/summary.txt"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
[ "$WARMUP" -gt 0 ] && run_wrk warmup "$PEAK_CONNECTIONS" "$WARMUP"
run_wrk peak "$PEAK_CONNECTIONS" "$DURATION"
run_wrk half "$HALF_CONNECTIONS" "$DURATION"

stored="$(stored_messages)"
log ""
echo "== libchat HTTP bench: POST /v1/sdk/messages, $SESSIONS sessions, wrk -t$THREADS, ${DURATION}s per run"
echo "== server: $server_bin $SERVER_ARGS"
echo "== load average (1/5/15 min) before the runs: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg)"
cat "$work/summary.txt"
verdict="OK"
# Every acknowledged message must be stored (stored >= 2xx); the surplus can only be
# requests the server answered after wrk stopped reading (at most one per connection).
if [ "$stored" -lt "$total_2xx" ] || [ "$stored" -gt $((total_2xx + in_flight_bound)) ]; then verdict="MISMATCH"; fi
echo "durability: stored messages = $stored, 2xx responses (all runs) = $total_2xx," \
  "surplus $((stored - total_2xx)) (allowed 0..$in_flight_bound, in flight when wrk stopped): $verdict"
[ "$verdict" = "OK" ]
