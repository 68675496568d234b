"""How a vector is kept in the SQLite ``vectors`` table: float32, or int8 with a per-vector scale.

An int8 blob is ``dim + 4`` bytes: the scale ``s = max|x| / 127`` as a little-endian float32,
then ``round(x / s)`` as ``dim`` signed bytes; it decodes to ``q * s``. For 384-d unit vectors
that is 388 bytes instead of 1,536, with a worst-case error of ``s / 2`` per component (≈0.001
for MiniLM embeddings; recall@10 against exact float32 search: benchmarks/README.md,
"Compression"). A float32 blob is ``4 * dim`` bytes. The length tells the two apart (they are
equal for no ``dim`` > 1), so old float32 stores and partially converted ones stay readable.

Every reader decodes to float32: the in-memory indexes, ``index_entries`` and export see the
same numbers whatever the blob's format.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from remem.errors import StoreError

FLOAT32 = "float32"
INT8 = "int8"
CODECS = (FLOAT32, INT8)
DEFAULT_CODEC = INT8  # what a new store writes (meta key ``vector_codec``); a store without the key is float32
GRAPH_DTYPE = {FLOAT32: "f16", INT8: "i8"}  # what a store's HNSW graphs hold (vector_index.HNSWPartition)
_SCALE = np.dtype("<f4")


def encode(vector: Any, codec: str) -> bytes:
    """One vector as a blob in ``codec``."""
    vec = np.ascontiguousarray(vector, dtype=np.float32).reshape(-1)
    if codec == FLOAT32:
        return vec.tobytes()
    if codec != INT8:
        raise StoreError(f"unknown vector codec {codec!r}")
    return encode_int8(vec[None, :])[0]


def encode_int8(matrix: np.ndarray) -> list[bytes]:
    """Rows of a float32 matrix as int8 blobs (vectorised)."""
    rows = np.ascontiguousarray(matrix, dtype=np.float32)
    scale = np.abs(rows).max(axis=1) / 127.0
    safe = np.where(scale > 0, scale, 1.0).astype(np.float32)
    q = np.clip(np.rint(rows / safe[:, None]), -127, 127).astype(np.int8)
    packed = np.empty(len(rows), dtype=_int8_record(rows.shape[1]))
    packed["s"], packed["q"] = scale.astype(_SCALE), q
    width = packed.dtype.itemsize
    raw = packed.tobytes()
    return [raw[i * width : (i + 1) * width] for i in range(len(rows))]


def blob_codec(blob: bytes, dim: int) -> str:
    """Which format a stored blob is in; StoreError for a length that is neither."""
    if len(blob) == 4 * dim:
        return FLOAT32
    if len(blob) == dim + 4:
        return INT8
    raise StoreError(f"a stored vector has {len(blob)} bytes; {dim} dims take {4 * dim} (float32) or {dim + 4} (int8)")


def decode(blob: bytes, dim: int) -> np.ndarray:
    """One stored blob as a float32 vector."""
    return decode_many([blob], dim)[0]


def decode_many(blobs: Sequence[bytes], dim: int) -> np.ndarray:
    """Stored blobs (any mix of formats) as an ``(n, dim)`` float32 matrix, in order (read-only
    when every blob is float32: a view on their bytes, no copy)."""
    if not blobs:
        return np.empty((0, dim), dtype=np.float32)
    f32 = np.fromiter((len(b) == 4 * dim for b in blobs), dtype=bool, count=len(blobs))
    if f32.all():
        return np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), dim)
    rest = [b for b, is_f in zip(blobs, f32) if not is_f]
    for b in rest:
        blob_codec(b, dim)  # a wrong length is an error, never garbage numbers
    packed = np.frombuffer(b"".join(rest), dtype=_int8_record(dim))
    if not f32.any():
        return np.multiply(packed["q"], packed["s"][:, None], dtype=np.float32)
    out = np.empty((len(blobs), dim), dtype=np.float32)
    out[f32] = np.frombuffer(b"".join(b for b, is_f in zip(blobs, f32) if is_f), np.float32).reshape(-1, dim)
    out[~f32] = np.multiply(packed["q"], packed["s"][:, None], dtype=np.float32)
    return out


def _int8_record(dim: int) -> np.dtype:
    return np.dtype([("s", _SCALE), ("q", np.int8, (dim,))])
