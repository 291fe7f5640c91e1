#!/usr/bin/env bash
# first_temporal: set up, run and test the ETL locally. No Docker, nothing downloaded at run time
# beyond the Python packages pinned in pyproject.toml.
#
#   ./build.sh          set up .venv, start the Temporal dev server and a worker, run one batch
#   ./build.sh stop     stop what ./build.sh started
#   ./build.sh server   run the Temporal dev server in the foreground (three-terminal flow)
#   ./build.sh test     set up and run the whole test suite
#   ./build.sh setup    only create/refresh the virtual environments (.venv, .venv-tools)
#   ./build.sh --help   this text
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

VENV=.venv
TOOLS=.venv-tools
RUN=.run
PY="$VENV/bin/python"
export TEMPORAL_ADDRESS="${TEMPORAL_ADDRESS:-localhost:7233}"
UI_PORT="${TEMPORAL_UI_PORT:-8233}"
HOST="${TEMPORAL_ADDRESS%:*}"
PORT="${TEMPORAL_ADDRESS##*:}"
CHECKOV_VERSION=3.3.30

say() { printf '%s\n' "$*"; }
die() { printf 'build.sh: %s\n' "$*" >&2; exit 1; }

setup() {
  local stamp="$VENV/.installed" want
  want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
  if [[ ! -x "$PY" ]]; then
    say "creating $VENV"
    python3 -m venv "$VENV" || die "python3 -m venv failed — install python3 (>= 3.11) with venv"
  fi
  if [[ "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
    say "installing first_temporal and its pinned dependencies into $VENV"
    "$PY" -m pip install --quiet --disable-pip-version-check -e '.[dev]' \
      || die "pip install failed (see the output above)"
    echo "$want" > "$stamp"
  fi
}

setup_tools() {
  # checkov (for the Terraform tests) pins packages that clash with ours (boto3, packaging),
  # so it lives in its own venv; only the tests need it.
  if [[ ! -x "$TOOLS/bin/checkov" ]]; then
    say "installing checkov $CHECKOV_VERSION into $TOOLS"
    python3 -m venv "$TOOLS"
    "$TOOLS/bin/pip" install --quiet --disable-pip-version-check "checkov==$CHECKOV_VERSION" \
      || die "pip install checkov failed"
  fi
}

# setup_debian BINARY PACKAGE WHY: a tool only the tests need, from Debian's packages.
setup_debian() {
  command -v "$1" >/dev/null && return 0
  [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null \
    || die "the tests need $1: install Debian's $2 package (apt-get install $2)"
  say "installing $1 (Debian's $2 package) for $3"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "$2" >/dev/null 2>&1 \
    || { apt-get update >/dev/null 2>&1 && apt-get install -y --no-install-recommends "$2" >/dev/null; } \
    || die "apt-get install $2 failed"
}

alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

port_open() { "$PY" - "$1" "$2" <<'EOF'
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=0.5).close()
except OSError:
    sys.exit(1)
EOF
}

# An open port is not enough: a server restarted on its database refuses clients ("Frontend is
# not healthy yet") for a moment after it listens. The CLI's health check dials like a client.
serving() {
  "$VENV/bin/temporal" operator cluster health --address "$TEMPORAL_ADDRESS" \
    --command-timeout 3s --disable-config-file --disable-config-env 2>/dev/null | grep -q SERVING
}

wait_serving() {
  local deadline=$((SECONDS + 30))
  until serving; do
    ((SECONDS < deadline)) \
      || die "the Temporal dev server did not serve $TEMPORAL_ADDRESS within 30 s — see $RUN/temporal.log"
    sleep 0.25
  done
}

server_args() {
  echo start-dev --ip "$HOST" --port "$PORT" --ui-port "$UI_PORT" \
    --db-filename "$RUN/temporal.db" --log-level warn \
    --search-attribute BatchDate=Datetime --search-attribute Pipeline=Keyword
}

start_server() {
  mkdir -p "$RUN"
  if alive "$RUN/temporal.pid"; then
    say "Temporal dev server already running (pid $(cat "$RUN/temporal.pid"))"
    return
  fi
  if port_open "$HOST" "$PORT"; then
    say "Temporal already listening on $TEMPORAL_ADDRESS (not started by build.sh); using it"
    return
  fi
  # shellcheck disable=SC2046
  nohup "$VENV/bin/temporal" server $(server_args) > "$RUN/temporal.log" 2>&1 &
  echo $! > "$RUN/temporal.pid"
  wait_serving
  say "Temporal dev server started on $TEMPORAL_ADDRESS (pid $(cat "$RUN/temporal.pid"), log $RUN/temporal.log)"
}

start_worker() {
  if alive "$RUN/worker.pid"; then
    say "worker already running (pid $(cat "$RUN/worker.pid"))"
    return
  fi
  nohup "$PY" worker.py > "$RUN/worker.log" 2>&1 &
  echo $! > "$RUN/worker.pid"
  say "worker started (pid $(cat "$RUN/worker.pid"), log $RUN/worker.log)"
}

stop_pid() {
  local file="$1" name="$2" pid i
  if ! alive "$file"; then rm -f "$file"; return; fi
  pid="$(cat "$file")"
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.25
  done
  if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  rm -f "$file"
  say "stopped $name (pid $pid)"
}

tables() {
  local dir="${ETL_DATA_DIR:-data}" table f
  for table in placeholder purchase customer dispute delivery product; do
    f="$dir/$table.csv"
    if [[ -f "$f" ]]; then
      printf '  %-16s %7d rows\n' "$table.csv" "$(( $(wc -l < "$f") - 1 ))"
    fi
  done
  say "tables:   $(cd "$dir" && pwd)"
  say "web UI:   http://localhost:$UI_PORT"
  say "more:     .venv/bin/python starter.py --runs 5    stop: ./build.sh stop"
}

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }

case "${1:-up}" in
  -h | --help | help) usage ;;
  up)
    setup
    start_server
    start_worker
    "$PY" starter.py
    tables
    ;;
  setup) setup; setup_tools ;;
  server)
    setup
    mkdir -p "$RUN"
    # shellcheck disable=SC2046
    exec "$VENV/bin/temporal" server $(server_args)
    ;;
  stop)
    stop_pid "$RUN/worker.pid" worker
    stop_pid "$RUN/temporal.pid" "Temporal dev server"
    ;;
  test)
    setup
    setup_tools
    setup_debian promtool prometheus "the alert rules' tests (Prometheus' linter and rule tester)"
    setup_debian chromium chromium "the report page's test in a real browser"
    shift
    exec "$PY" -m pytest "$@"
    ;;
  *) usage >&2; die "unknown command '$1'" ;;
esac
