"""In-memory BM25 indexes, one partition per (tenant, user), derived from the store.

The store's ``texts`` log (one row per indexed memory, a ``seq`` that only grows; the text
itself is the FTS5 ``text`` column) is the source of truth, as ``vectors`` is for the vector
index: before every search a partition pulls the rows after its watermark, and rebuilds when
the partition's ``generation`` moved (purge) or the store went back in time. So it can lag
only until the next search, never disagree, and a crash loses nothing.

Why not FTS5's own ranking: FTS5 scores every row that holds *any* query word, so a query
with a common word costs a walk of that word's whole posting list in SQL, row by row (151 /
416 ms p50 / p95 at 1M rows). Here each word's postings are numpy arrays and a query is a
few vectorised passes over them; and the statistics (rows, mean length, document
frequencies) are the partition's own, so one user's results never move with another
user's data. BM25 is Okapi (k1 = 1.2, b = 0.75, FTS5's values) with Lucene's smoothed IDF
``ln(1 + (N - df + 0.5) / (df + 0.5))``, which stays positive where FTS5's clamps a word in
more than half the rows to 1e-6 (in a store of three memories, every word).

Partitions of at least ``CACHE_MIN_ROWS`` rows are saved beside the store when it closes (as
the vector index's HNSW graphs are) and reloaded on open, bound like them to the store's
identity and to the row at their watermark (its rowid and a hash of its text): a store
re-created at the same path, or an older copy restored over it, never reuses a cache that is
not its own.

Tokens are FTS5's: words (``remem.store.text.words``: lower case, diacritics folded) with Porter stems; every token counts
toward a row's length, the query's content words are its terms.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from array import array
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from remem.store.index_cache import CachedPartitions
from remem.store.text import keywords, stem, words

log = logging.getLogger("remem.index")

CACHE_MIN_ROWS = 20_000  # smaller partitions rebuild from the store in well under a second
K1 = 1.2
B = 0.75
MAX_TERMS = 64  # as the FTS5 query
TextDelta = Iterable[tuple[int, int, str]]  # (seq, memory rowid, index text)
TextAt = Callable[[int], "tuple[int, str] | None"]  # seq -> (rowid, text) of that row, if present


def _tail(seq: int, rowid: int, text: str) -> list[object]:
    """What identifies the row at a watermark: its seq, rowid and a hash of its text."""
    return [int(seq), int(rowid), hashlib.sha1((text or "").encode()).hexdigest()]


def doc_tokens(text: str) -> list[str]:
    """Every token of an indexed text, stemmed."""
    return [stem(w) for w in words(text)]


def query_tokens(text: str) -> list[str]:
    """The query's distinct stemmed terms: its content words (all its words if it has only
    stopwords), at most MAX_TERMS, the latest kept when a long query (a dialogue) has more."""
    found = keywords(text) or list(dict.fromkeys(words(text)))
    return list(dict.fromkeys(stem(w) for w in found))[-MAX_TERMS:]


class _Postings:
    """One term's postings: row slots and term frequencies, appended to; a numpy view is
    made when first searched after a change."""

    __slots__ = ("slots", "tfs", "_arrays")

    def __init__(self) -> None:
        self.slots = array("i")
        self.tfs = array("i")
        self._arrays: tuple[np.ndarray, np.ndarray] | None = None

    def add(self, slot: int, tf: int) -> None:
        self.slots.append(slot)
        self.tfs.append(tf)
        self._arrays = None

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        if self._arrays is None:
            self._arrays = (np.frombuffer(self.slots, dtype=np.int32).copy(), np.frombuffer(self.tfs, dtype=np.int32).astype(np.float64))
        return self._arrays


class TextPartition:
    """One user's rows: postings per term, row lengths, and which slots are still current.

    A row that is indexed again (its text changed) gets a new slot; the old one is marked
    dead and its postings are skipped. When dead slots outnumber live ones the owner
    rebuilds the partition from the store (:meth:`wasteful`)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.generation = 0
        self.reset()

    def reset(self) -> None:
        """Empty the partition (to be filled again from the store's first row)."""
        self.postings: dict[str, _Postings] = {}
        self.rowids = array("q")
        self.lengths = array("i")
        self.live = bytearray()
        self.slot_of: dict[int, int] = {}
        self.total_length = 0
        self.watermark = 0
        self.tail: list[object] | None = None  # _tail() of the row at the watermark
        self._live_mask: np.ndarray | None = None
        self._length_array: np.ndarray | None = None
        self._rowid_array: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.slot_of)

    def apply(self, delta: TextDelta) -> int:
        """Index rows newer than the watermark (a row seen before replaces its old text)."""
        n = 0
        for seq, rowid, text in delta:
            self._put(int(rowid), text or "")
            if seq > self.watermark:
                self.watermark, self.tail = int(seq), _tail(seq, rowid, text)
            n += 1
        if n:
            self._live_mask = self._length_array = self._rowid_array = None
        return n

    def _put(self, rowid: int, text: str) -> None:
        old = self.slot_of.get(rowid)
        if old is not None:
            self.live[old] = 0
            self.total_length -= self.lengths[old]
        slot = len(self.rowids)
        tokens = doc_tokens(text)
        counts: dict[str, int] = {}
        for t in tokens:
            counts[t] = counts.get(t, 0) + 1
        for term, tf in counts.items():
            postings = self.postings.get(term)
            if postings is None:
                postings = self.postings[term] = _Postings()
            postings.add(slot, tf)
        self.rowids.append(rowid)
        self.lengths.append(len(tokens))
        self.live.append(1)
        self.slot_of[rowid] = slot
        self.total_length += len(tokens)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The partition as flat arrays (terms, postings by term, per-slot rows), for a cache file."""
        terms = list(self.postings)
        sizes = np.fromiter((len(self.postings[t].slots) for t in terms), dtype=np.int64, count=len(terms))
        return {
            "terms": np.asarray(terms, dtype=np.str_) if terms else np.zeros(0, dtype="<U1"),
            "offsets": np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
            "slots": np.frombuffer(b"".join(bytes(self.postings[t].slots) for t in terms), dtype=np.int32),
            "tfs": np.frombuffer(b"".join(bytes(self.postings[t].tfs) for t in terms), dtype=np.int32),
            "rowids": np.frombuffer(self.rowids, dtype=np.int64).copy(),
            "lengths": np.frombuffer(self.lengths, dtype=np.int32).copy(),
            "live": np.frombuffer(bytes(self.live), dtype=np.uint8),
        }

    def load_arrays(self, a: dict[str, np.ndarray]) -> None:
        """Fill an empty partition from :meth:`to_arrays`'s output."""
        offsets, slots, tfs = a["offsets"], a["slots"].astype(np.int32), a["tfs"].astype(np.int32)
        for i, term in enumerate(a["terms"].tolist()):
            postings = self.postings[term] = _Postings()
            postings.slots.frombytes(slots[offsets[i] : offsets[i + 1]].tobytes())
            postings.tfs.frombytes(tfs[offsets[i] : offsets[i + 1]].tobytes())
        self.rowids.frombytes(a["rowids"].astype(np.int64).tobytes())
        self.lengths.frombytes(a["lengths"].astype(np.int32).tobytes())
        self.live.extend(a["live"].astype(np.uint8).tobytes())
        live = a["live"].astype(bool)
        self.slot_of = {int(r): i for i, r in enumerate(a["rowids"].tolist()) if live[i]}
        self.total_length = int(a["lengths"][live].sum())

    def wasteful(self) -> bool:
        """More dead slots than live ones (and enough to matter): worth a rebuild."""
        dead = len(self.rowids) - len(self.slot_of)
        return dead > 1_000 and dead > len(self.slot_of)

    def doc_freqs(self, terms: Iterable[str]) -> tuple[int, dict[str, int]]:
        """(live rows, live rows holding each stemmed term)."""
        with self.lock:
            return self._doc_freqs(terms)

    def _doc_freqs(self, terms: Iterable[str]) -> tuple[int, dict[str, int]]:
        live = self._live()
        out = {}
        for t in terms:
            postings = self.postings.get(t)
            out[t] = int(np.count_nonzero(live[postings.arrays()[0]])) if postings is not None else 0
        return len(self.slot_of), out

    def search(self, terms: list[str], limit: int) -> list[tuple[int, float]]:
        """The ``limit`` best (rowid, BM25) among live rows holding a term, best first
        (ties: the lower rowid, the older row, first)."""
        with self.lock:
            return self._search(terms, limit)

    def _search(self, terms: list[str], limit: int) -> list[tuple[int, float]]:
        n = len(self.slot_of)
        if not n or limit < 1:
            return []
        live, lengths = self._live(), self._lengths()
        norm = K1 * (1.0 - B + B * lengths / (self.total_length / n or 1.0))
        parts_slots, parts_scores = [], []
        for t in terms:
            postings = self.postings.get(t)
            if postings is None:
                continue
            slots, tfs = postings.arrays()
            keep = live[slots]
            slots, tfs = slots[keep], tfs[keep]
            if not len(slots):
                continue
            idf = np.log1p((n - len(slots) + 0.5) / (len(slots) + 0.5))
            parts_slots.append(slots)
            parts_scores.append(idf * tfs * (K1 + 1.0) / (tfs + norm[slots]))
        if not parts_slots:
            return []
        if len(parts_slots) == 1:
            slots, scores = parts_slots[0], parts_scores[0]
        else:
            slots, inverse = np.unique(np.concatenate(parts_slots), return_inverse=True)
            scores = np.bincount(inverse, weights=np.concatenate(parts_scores), minlength=len(slots))
        scores = np.round(scores, 9)  # equal up to rounding is a tie (sums in another order differ in the last bits)
        if len(slots) > limit:  # every row tied with the last one kept, so ties break by age, not by chance
            keep = scores >= np.partition(scores, len(scores) - limit)[len(scores) - limit]
            slots, scores = slots[keep], scores[keep]
        rowids = self._rowids()[slots]
        order = np.lexsort((rowids, -scores))[:limit]
        return [(int(rowids[i]), float(scores[i])) for i in order]

    def _live(self) -> np.ndarray:
        if self._live_mask is None or len(self._live_mask) != len(self.live):
            self._live_mask = np.frombuffer(bytes(self.live), dtype=np.uint8).astype(bool)
        return self._live_mask

    def _rowids(self) -> np.ndarray:
        if self._rowid_array is None or len(self._rowid_array) != len(self.rowids):
            self._rowid_array = np.frombuffer(self.rowids, dtype=np.int64).copy()
        return self._rowid_array

    def _lengths(self) -> np.ndarray:
        if self._length_array is None or len(self._length_array) != len(self.lengths):
            self._length_array = np.frombuffer(self.lengths, dtype=np.int32).astype(np.float64)
        return self._length_array


class TextIndex(CachedPartitions):
    """All text partitions of one store, kept in sync with it on demand; large ones cached
    on disk once :meth:`bind` has named the store's cache folder and identity."""

    def __init__(self) -> None:
        self._parts: dict[tuple[str, str], TextPartition] = {}
        self._lock = threading.Lock()
        self.cache_dir: Path | None = None
        self.store_id: str | None = None

    def bind(self, cache_dir: Path, store_id: str) -> None:
        """Where to keep cache files, and the store identity they are bound to."""
        self.cache_dir, self.store_id = cache_dir / "text", store_id

    def partition(
        self, key: tuple[str, str], state: tuple[int, int], fetch_delta: Callable[[int], TextDelta],
        row_at: TextAt | None = None,
    ) -> TextPartition:
        """The partition for ``key`` brought up to ``state`` = (generation, max seq);
        ``row_at(seq)`` lets a cached partition prove it was built from this store's rows."""
        generation, max_seq = state
        with self._lock:
            part = self._parts.get(key)
        if part is None or part.generation != generation:
            # loaded without holding the index lock: the proof reads the store (its lock), and a
            # purge holds the store's lock while it drops partitions (the index lock)
            loaded = self._load_cached(key, generation, row_at) or TextPartition()
            loaded.generation = generation
            with self._lock:
                part = self._parts.get(key)
                if part is None or part.generation != generation:
                    part = self._parts[key] = loaded
        with part.lock:
            if max_seq < part.watermark or part.wasteful():  # went back in time, or mostly dead slots
                part.reset()
            if max_seq > part.watermark:
                part.apply(fetch_delta(part.watermark))
        return part

    def _remove_files_of(self, meta_path: Path) -> None:
        meta_path.unlink(missing_ok=True)
        meta_path.with_suffix(".npz").unlink(missing_ok=True)

    # -- the on-disk cache of large partitions ------------------------------------------
    def _cache_paths(self, key: tuple[str, str]) -> tuple[Path, Path]:
        base = (self.cache_dir or Path(".")) / hashlib.sha1(json.dumps(key).encode()).hexdigest()
        return base.with_suffix(".npz"), base.with_suffix(".json")

    def _remove_cache(self, key: tuple[str, str]) -> None:
        for path in self._cache_paths(key):
            path.unlink(missing_ok=True)

    def save(self, current_generation: Callable[[tuple[str, str]], int | None]) -> None:
        """Write partitions of at least CACHE_MIN_ROWS rows to the cache folder (whole files:
        temp file + rename); a partition whose generation moved meanwhile (purged, perhaps by
        another process) is not written and its old files are removed."""
        if self.cache_dir is None or self.store_id is None:
            return
        for key, part in list(self._parts.items()):
            with part.lock:
                if len(part) < CACHE_MIN_ROWS or part.tail is None:
                    continue
                if current_generation(key) != part.generation:
                    self._remove_cache(key)
                    continue
                self.cache_dir.mkdir(parents=True, exist_ok=True)
                data_path, meta_path = self._cache_paths(key)
                meta_path.unlink(missing_ok=True)  # no meta, no load: never a meta beside a half-replaced file
                _write_whole(data_path, lambda fh: np.savez(fh, **part.to_arrays()))
                meta = {"key": list(key), "store_id": self.store_id, "generation": part.generation,
                        "watermark": part.watermark, "tail": part.tail}
                _write_whole(meta_path, lambda fh: fh.write(json.dumps(meta).encode()))

    def _load_cached(self, key: tuple[str, str], generation: int, row_at: TextAt | None) -> TextPartition | None:
        """A saved partition, if it is provably this store's: same identity, key and
        generation, and the row at its watermark is still the same row with the same text."""
        if self.cache_dir is None or self.store_id is None or row_at is None:
            return None
        data_path, meta_path = self._cache_paths(key)
        try:
            meta = json.loads(meta_path.read_text())
            if not isinstance(meta, dict) or meta.get("store_id") != self.store_id or meta.get("key") != list(key):
                return None
            watermark = meta.get("watermark")
            if meta.get("generation") != generation or not isinstance(watermark, int) or watermark < 1:
                return None
            row = row_at(watermark)
            if row is None or meta.get("tail") != _tail(watermark, *row):
                log.info("text index cache for %s does not match the store; rebuilding", key)
                return None
            part = TextPartition()
            with np.load(data_path, allow_pickle=False) as arrays:
                part.load_arrays({name: arrays[name] for name in arrays.files})
            part.watermark, part.tail = watermark, meta["tail"]
            return part
        except FileNotFoundError:
            return None
        except Exception as exc:  # noqa: BLE001 - a damaged cache (truncated zip, bad arrays) is only a cache
            log.warning("text index cache for %s is unreadable (%s); rebuilding from the store", key, exc)
            self._remove_cache(key)
            return None


def _write_whole(path: Path, write: Callable[..., object]) -> None:
    """Write a file so it is there whole or not at all: a temp file, flushed to disk, renamed."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        write(fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
