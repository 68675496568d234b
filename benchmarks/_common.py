"""Shared helpers for the benchmark scripts: synthetic data, timing, output.

Nothing here is imported by remem itself; the scripts put this folder on sys.path
simply by being run as ``python benchmarks/<script>.py``.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import time
from pathlib import Path
from typing import Any, Iterator

import numpy as np
from rich.console import Console
from rich.table import Table

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = REPO_ROOT.parent / "shared"
LOCOMO = SHARED / "data" / "locomo" / "locomo10.json"

console = Console()

# -- timing and memory -------------------------------------------------------------------


def now() -> float:
    return time.perf_counter()


def cpu() -> float:
    """Process CPU time (all threads), seconds."""
    return time.process_time()


def pct(samples_s: list[float], q: float) -> float:
    """The q-th percentile of ``samples_s`` (seconds), in milliseconds."""
    return float(np.percentile(np.asarray(samples_s) * 1000.0, q)) if samples_s else float("nan")


def rss_mb() -> float:
    """Current resident set size of this process in MiB (Linux)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def dir_size(path: Path, prefix: str) -> int:
    """Bytes of every file beside ``path`` whose name starts with ``prefix`` (db, -wal, .idx/...)."""
    total = 0
    for p in path.parent.iterdir():
        if p.name.startswith(prefix):
            if p.is_file():
                total += p.stat().st_size
            elif p.is_dir():
                total += sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
    return total


def machine() -> dict[str, Any]:
    import usearch

    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "usearch": usearch.__version__,
        "numpy": np.__version__,
    }


# -- output ------------------------------------------------------------------------------


def table(title: str, columns: list[str], rows: list[list[Any]]) -> Table:
    t = Table(title=title, title_justify="left")
    for i, c in enumerate(columns):
        t.add_column(c, justify="left" if i == 0 else "right")
    for r in rows:
        t.add_row(*[fmt(v) for v in r])
    return t


def fmt(v: Any) -> str:
    if isinstance(v, float):
        if v != v:  # nan
            return "–"
        if abs(v) >= 100:
            return f"{v:,.0f}"
        if abs(v) >= 10:
            return f"{v:.1f}"
        return f"{v:.2f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def write_json(path: str | None, payload: dict[str, Any]) -> None:
    if path:
        Path(path).write_text(json.dumps({"machine": machine(), **payload}, indent=2, default=str))
        console.print(f"wrote {path}")


# -- synthetic text ----------------------------------------------------------------------

_ONSETS = "b c d f g h j k l m n p r s t v w z br ch cl dr fl gr pl pr sh st tr th".split()
_VOWELS = "a e i o u ai ea ee oo ou ie".split()
_CODAS = ["", "", "n", "r", "s", "t", "l", "m", "nd", "st", "ck", "ng"]
_FUNCTION = (
    "the a to and of in i you it that is was for on with my we have this be at so but are "
    "just they me what do not about all like your our he she had will can there"
).split()


def vocabulary(size: int, seed: int = 7) -> list[str]:
    """``size`` distinct pronounceable pseudo-words (2–3 syllables)."""
    rng = np.random.default_rng(seed)
    words: dict[str, None] = {}
    while len(words) < size:
        n = int(rng.integers(2, 4))
        w = "".join(
            _ONSETS[rng.integers(len(_ONSETS))] + _VOWELS[rng.integers(len(_VOWELS))] for _ in range(n)
        ) + _CODAS[rng.integers(len(_CODAS))]
        words[w] = None
    return list(words)


class SentenceGenerator:
    """Sentence-like strings: Zipf-distributed content words mixed with function words.

    Word frequencies follow a Zipf–Mandelbrot law, p(r) ∝ (r + 5)^-1, fitted so that
    document frequencies match LoCoMo turns after stopword removal (most common term in
    ~19% of turns, ~10 content words per turn): FTS5 posting lists look like real chat.
    """

    def __init__(self, vocab_size: int = 30_000, seed: int = 11) -> None:
        self.vocab = np.array(vocabulary(vocab_size))
        ranks = np.arange(1, vocab_size + 1, dtype=np.float64)
        p = (ranks + 5.0) ** -1.0
        self.cdf = np.cumsum(p / p.sum())
        self.rng = np.random.default_rng(seed)
        self.function = np.array(_FUNCTION)

    def sentences(self, n: int, min_words: int = 10, max_words: int = 24) -> list[str]:
        rng = self.rng
        lengths = rng.integers(min_words, max_words + 1, size=n)
        total = int(lengths.sum())
        content = self.vocab[np.searchsorted(self.cdf, rng.random(total))]
        function = self.function[rng.integers(len(self.function), size=total)]
        use_function = rng.random(total) < 0.35
        tokens = np.where(use_function, function, content)
        out: list[str] = []
        start = 0
        for length in lengths:
            words = tokens[start : start + length]
            start += length
            out.append(" ".join(words).capitalize() + ".")
        return out

    def queries(self, n: int) -> list[str]:
        """Question-like strings of 4–9 words."""
        return [s[:-1] + "?" for s in self.sentences(n, 4, 9)]


# -- synthetic clustered vectors ---------------------------------------------------------


class ClusteredVectors:
    """Unit vectors shaped like MiniLM sentence embeddings, not uniform noise.

    v = a·shared + b·topic + c·subtopic + d·low-rank noise + e·isotropic noise,
    renormalised, with 64 topics × 64 subtopics (4,096 centroids on the unit sphere).
    The weights were fitted to 3,000 real MiniLM embeddings of LoCoMo turns: mean
    nearest-neighbour cosine 0.68 (real 0.68), mean 10th-neighbour 0.55 (0.55),
    median pairwise cosine 0.19 (0.19). Uniform random vectors would make every
    graph index look broken; this keeps the ANN problem about as hard as real data.
    """

    WEIGHTS = (0.5, 0.68, 0.5, 0.52, 0.32)

    def __init__(self, dim: int = 384, topics: int = 64, subtopics: int = 64, rank: int = 64, seed: int = 3) -> None:
        rng = np.random.default_rng(seed)
        self.dim = dim
        self.shared = _unit(rng.standard_normal(dim))
        self.topics = _unit(rng.standard_normal((topics, dim)))
        self.subtopics = _unit(rng.standard_normal((topics, subtopics, dim)))
        self.basis = _unit(rng.standard_normal((rank, dim)))
        self.rng = np.random.default_rng(seed + 1)

    def sample(self, n: int) -> np.ndarray:
        rng = self.rng
        a, b, c, d, e = self.WEIGHTS
        t = rng.integers(len(self.topics), size=n)
        s = rng.integers(self.subtopics.shape[1], size=n)
        low = _unit(rng.standard_normal((n, len(self.basis))).astype(np.float32) @ self.basis)
        iso = _unit(rng.standard_normal((n, self.dim)).astype(np.float32))
        v = a * self.shared + b * self.topics[t] + c * self.subtopics[t, s] + d * low + e * iso
        return _unit(v)


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def locomo_turns() -> Iterator[tuple[str, str, list[dict[str, str]]]]:
    """(conversation id, session key, turns) for every LoCoMo session, if the file exists."""
    data = json.loads(LOCOMO.read_text())
    for i, conv in enumerate(data):
        c = conv["conversation"]
        for key, value in c.items():
            if key.startswith("session_") and isinstance(value, list):
                yield f"conv{i}", key, value
