"""Prepare prebuilt llama.cpp shared libraries for llama-cpp-python's server (no C++ build).

llama-cpp-python on PyPI is a source package: building its bundled llama.cpp takes ~27
minutes on 2 cores. The tests install it with ``-DLLAMA_BUILD=OFF`` (Python files only,
seconds) and point it (``LLAMA_CPP_LIB_PATH``) at the prebuilt ``libllama.so`` and
``libggml*.so`` that the ``llama-cpp-py-sync`` wheel ships, built from a llama.cpp commit
whose C API matches the bindings of the pinned llama-cpp-python (checked below: every
function the bindings declare must be exported).

Those wheels are built against glibc 2.38 but use only its C23 aliases of
``strtol``/``strtoul``/``strtoull``/``sscanf`` (``__isoc23_*``). On an older glibc
(Debian 12 has 2.36) this script copies the libraries to a folder of their own, compiles a
five-line shim that defines those aliases, marks the ``GLIBC_2.38`` version need as weak
(``VER_FLG_WEAK``: the loader then tolerates its absence) and adds the shim as a needed
library with ``patchelf``. The installed wheel itself is never modified.

    python scripts/llama_libs.py dir            # where the libraries go ($REMEM_LLAMA_LIB or a cache folder)
    python scripts/llama_libs.py prepare        # copy, patch if needed, smoke-test; prints the folder
    python scripts/llama_libs.py check          # exit 0 when the folder holds ready libraries
"""

from __future__ import annotations

import importlib.util
import os
import platform
import re
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

PY_SYNC_VERSION = "0.11739"  # llama.cpp build whose C API llama-cpp-python 0.3.36 binds
SHIM_NAME = "libremem_isoc23.so"
SHIM_C = r"""
/* C23 aliases that glibc >= 2.38 exports and older glibc lacks (same semantics here). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
long __isoc23_strtol(const char *s, char **e, int b) { return strtol(s, e, b); }
long long __isoc23_strtoll(const char *s, char **e, int b) { return strtoll(s, e, b); }
unsigned long __isoc23_strtoul(const char *s, char **e, int b) { return strtoul(s, e, b); }
unsigned long long __isoc23_strtoull(const char *s, char **e, int b) { return strtoull(s, e, b); }
int __isoc23_sscanf(const char *s, const char *f, ...) {
    va_list a; va_start(a, f); int r = vsscanf(s, f, a); va_end(a); return r;
}
"""
SHIM_SYMBOLS = ("__isoc23_strtol", "__isoc23_strtoll", "__isoc23_strtoul", "__isoc23_strtoull", "__isoc23_sscanf")
READY_MARK = ".remem-ready"


def lib_dir() -> Path:
    """Where the prepared libraries live: ``$REMEM_LLAMA_LIB``, else a per-version cache folder."""
    override = os.environ.get("REMEM_LLAMA_LIB")
    if override:
        return Path(override).expanduser().resolve()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "remem" / f"llama-lib-{PY_SYNC_VERSION}"


def is_ready(dest: Path) -> bool:
    return (dest / READY_MARK).is_file() and (dest / "libllama.so").is_file()


def source_dir() -> Path:
    """The folder of the installed llama-cpp-py-sync wheel (found without importing it)."""
    spec = importlib.util.find_spec("llama_cpp_py_sync")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("llama_libs: llama-cpp-py-sync is not installed")
    return Path(list(spec.submodule_search_locations)[0])


def glibc_older_than(major: int, minor: int) -> bool:
    name, version = platform.libc_ver()
    if name != "glibc" or not version:
        return False
    got = tuple(int(p) for p in version.split(".")[:2])
    return got < (major, minor)


def weaken_version_need(path: Path, version: str) -> int:
    """Set VER_FLG_WEAK on every ELF64 version-need entry named ``version``; returns how many."""
    data = bytearray(path.read_bytes())
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise ValueError(f"{path}: not a little-endian ELF64 file")
    shoff = struct.unpack_from("<Q", data, 0x28)[0]
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    changed = 0
    for sh_type, sh_offset, sh_link in ((s[1], s[4], s[6]) for s in sections):
        if sh_type != 0x6FFFFFFE:  # SHT_GNU_verneed
            continue
        strings = sections[sh_link][4]
        entry = sh_offset
        while True:
            _, count, _, aux, next_entry = struct.unpack_from("<HHIII", data, entry)
            item = entry + aux
            for _ in range(count):
                _, flags, _, name, next_item = struct.unpack_from("<IHHII", data, item)
                end = data.index(b"\0", strings + name)
                if data[strings + name : end].decode() == version and not flags & 0x2:
                    struct.pack_into("<H", data, item + 4, flags | 0x2)
                    changed += 1
                item += next_item
            if not next_entry:
                break
            entry += next_entry
    if changed:
        path.write_bytes(data)
    return changed


def patchelf() -> str:
    found = shutil.which("patchelf") or str(Path(sys.executable).with_name("patchelf"))
    if not Path(found).exists():
        sys.exit("llama_libs: patchelf is not installed (pip install patchelf)")
    return found


def patch_for_old_glibc(dest: Path, libs: list[Path]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        c_file = Path(tmp) / "isoc23.c"
        c_file.write_text(SHIM_C)
        subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-o", str(dest / SHIM_NAME), str(c_file)], check=True)
    tool = patchelf()
    for lib in libs:
        if weaken_version_need(lib, "GLIBC_2.38"):
            args = [a for s in SHIM_SYMBOLS for a in ("--clear-symbol-version", s)]
            subprocess.run([tool, *args, "--add-needed", SHIM_NAME, str(lib)], check=True)


def bound_functions() -> set[str]:
    """Names of the C functions the installed llama-cpp-python declares."""
    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or spec.origin is None:
        sys.exit("llama_libs: llama-cpp-python is not installed")
    text = (Path(spec.origin).parent / "llama_cpp.py").read_text()
    return set(re.findall(r'@ctypes_function\(\s*"(\w+)"', text))


def check_exports(lib: Path) -> None:
    out = subprocess.run(["nm", "-D", "--defined-only", str(lib)], capture_output=True, text=True, check=True).stdout
    exported = {line.split()[-1] for line in out.splitlines() if line.strip()}
    missing = sorted(bound_functions() - exported)
    if missing:
        sys.exit(f"llama_libs: {lib.name} lacks functions llama-cpp-python binds: {', '.join(missing[:10])}")


def smoke_test(dest: Path) -> None:
    env = {**os.environ, "LLAMA_CPP_LIB_PATH": str(dest)}
    code = "import llama_cpp; llama_cpp.llama_backend_init(); print(llama_cpp.llama_print_system_info().decode()[:60])"
    subprocess.run([sys.executable, "-c", code], env=env, check=True)


def prepare(dest: Path) -> None:
    src = source_dir()
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    libs = []
    for f in sorted(src.iterdir()):
        if f.is_file() and ".so" in f.name:
            shutil.copy2(f, dest / f.name)
            libs.append(dest / f.name)
    if not (dest / "libllama.so").exists():
        sys.exit(f"llama_libs: no libllama.so in {src}")
    check_exports(dest / "libllama.so")
    if glibc_older_than(2, 38):
        patch_for_old_glibc(dest, libs)
    smoke_test(dest)
    (dest / READY_MARK).write_text(str(src) + "\n")
    print(dest)


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[1] not in ("dir", "prepare", "check"):
        print("usage: llama_libs.py dir|prepare|check", file=sys.stderr)
        return 2
    dest = lib_dir()
    if argv[1] == "dir":
        print(dest)
    elif argv[1] == "check":
        return 0 if is_ready(dest) else 1
    else:
        prepare(dest)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
