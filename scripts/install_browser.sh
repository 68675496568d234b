#!/usr/bin/env bash
# Install what the dashboard browser tests need: Debian's chromium and the Python
# playwright driver (never `playwright install`: browsers come from apt only).
# Idempotent: does nothing when both are already there.
set -euo pipefail

if ! command -v chromium >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi

if ! python -c "import playwright" >/dev/null 2>&1; then
  python -m pip install -q "playwright>=1.45,<1.66"
fi

chromium --version 2>/dev/null | head -1 || true
python -c "import playwright, importlib.metadata as m; print('playwright', m.version('playwright'))"
