# Sourced by the bench run.sh scripts: starts libchat-server on a fresh database
# and stops it when the script exits.
#
#   start_bench_server <server binary> <name>
#
# Expects log, die, DB_DIR, KEEP, SERVER_ARGS and SERVER_WRAPPER from the caller.
# Sets: work (the temporary directory with bench.db and server.log), server_pid
# (the pid started, a SERVER_WRAPPER's if any) and port.

server_pid=""
work=""

stop_bench_server() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 300); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done  # valgrind needs time
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  if [ -n "$work" ]; then
    if [ "$KEEP" = "1" ]; then log "run.sh: kept $work"; else rm -rf "$work"; fi
  fi
}

start_bench_server() {
  local server_bin="$1" name="$2"
  mkdir -p "$DB_DIR"
  work="$(mktemp -d "$DB_DIR/$name.XXXXXX")"
  trap stop_bench_server EXIT
  trap 'exit 130' INT TERM
  # A cheap password hash: the benches register one account, and Argon2's default
  # memory cost would only inflate the server's baseline memory.
  # shellcheck disable=SC2086  # SERVER_WRAPPER and SERVER_ARGS are lists of words
  $SERVER_WRAPPER "$server_bin" --listen 127.0.0.1:0 --db "$work/bench.db" --password-memory-kib 8192 $SERVER_ARGS \
    >"$work/server.log" 2>&1 &
  server_pid=$!
  port=""
  for _ in $(seq 600); do  # up to a minute: a SERVER_WRAPPER such as valgrind starts slowly
    port="$(sed -n 's#.*listening on http://127\.0\.0\.1:\([0-9][0-9]*\).*#\1#p' "$work/server.log" | head -n1)"
    [ -n "$port" ] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; die "the server exited"; }
    sleep 0.1
  done
  [ -n "$port" ] || { cat "$work/server.log" >&2; die "the server did not report its port"; }
}
