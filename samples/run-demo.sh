#!/usr/bin/env bash
# Start the demo backends and haproxy-py on samples/demo.cfg in the foreground; Ctrl-C stops both.
#   samples/run-demo.sh                 uses ./haproxy.pyz (built by build_zipapp.py if missing)
#   HAPROXY_PY="python -m haproxy_py" samples/run-demo.sh    runs from the checkout instead
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

if [[ -z "${HAPROXY_PY:-}" ]]; then
    if [[ ! -f haproxy.pyz ]]; then
        echo "run-demo: building haproxy.pyz" >&2
        "$PYTHON" build_zipapp.py
    fi
    HAPROXY_PY="$PYTHON haproxy.pyz"
fi

backends_pid=""
proxy_pid=""
cleanup() {
    trap - EXIT INT TERM
    [[ -n "$proxy_pid" ]] && kill "$proxy_pid" 2>/dev/null || true
    [[ -n "$backends_pid" ]] && kill "$backends_pid" 2>/dev/null || true
    wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$PYTHON" samples/demo_backends.py &
backends_pid=$!
sleep 0.5
kill -0 "$backends_pid" 2>/dev/null || { echo "run-demo: demo backends failed to start" >&2; exit 1; }

# shellcheck disable=SC2086
$HAPROXY_PY -db -f samples/demo.cfg &
proxy_pid=$!
echo "run-demo: proxy pid $proxy_pid on :5000, backends pid $backends_pid; try: curl -s http://127.0.0.1:5000/" >&2
wait "$proxy_pid"
