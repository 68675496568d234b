"""Backend-neutral helpers shared by the stores: parsing and checking export items."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import ValidationError

from remem.errors import InvalidInputError, RememError
from remem.models import HistoryEntry, MemoryRecord, check_content
from remem.models.checks import MAX_ID_CHARS
from remem.store.base import Link
from remem.store.codec import decode, decode_many


@dataclass
class ParsedItem:
    """One export item, fully checked: safe to write as is."""

    record: MemoryRecord
    history: list[HistoryEntry]
    vector: np.ndarray | None
    index_text: str
    links: list[Link]
    fingerprint: str | None


def encode_vector(vector: Any, dim: int | None = None) -> str | None:
    """A vector as export text: base64 of its float32 bytes (the inverse of the parsing below).

    A stored blob (bytes) is decoded first when ``dim`` is known, so an int8 store exports
    float32 like any other; without ``dim`` bytes are taken as float32 already."""
    if vector is None:
        return None
    if isinstance(vector, (bytes, memoryview)):
        if dim is not None:
            return base64.b64encode(decode(bytes(vector), dim).tobytes()).decode()
        return base64.b64encode(bytes(vector)).decode()
    array = vector.to_numpy() if hasattr(vector, "to_numpy") else vector
    return base64.b64encode(np.asarray(array, dtype=np.float32).tobytes()).decode()


def decode_vectors(values: list[Any], dim: int | None) -> list[np.ndarray | None]:
    """Stored vectors as float32 arrays, None where a row has none: SQLite's blobs (either codec)
    decoded in one pass, pgvector values converted."""
    blobs = [i for i, v in enumerate(values) if isinstance(v, (bytes, memoryview))]
    out: list[np.ndarray | None] = [None] * len(values)
    if blobs:
        raw = [bytes(values[i]) for i in blobs]
        matrix = decode_many(raw, dim) if dim is not None else np.frombuffer(b"".join(raw), np.float32).reshape(len(raw), -1)
        for i, row in zip(blobs, matrix):
            out[i] = row
    for i, v in enumerate(values):
        if v is not None and out[i] is None:
            out[i] = np.asarray(v.to_numpy() if hasattr(v, "to_numpy") else v, dtype=np.float32)
    return out


def parse_export_item(item: Any, *, dim: int | None = None) -> ParsedItem:
    """Parse and check one item made by ``Store.export``; raise InvalidInputError, write nothing.

    The item may only describe its own memory: every history entry and every link
    must belong to ``record.id``. ``dim`` (the store's vector size) is checked when known.
    """
    if not isinstance(item, dict):
        raise InvalidInputError(f"not a remem export item: expected an object, got {type(item).__name__}")
    try:
        record = MemoryRecord.model_validate(item["record"])
        history = [HistoryEntry.model_validate(h) for h in item.get("history") or []]
        raw_vector = item.get("vector")
        vector = np.frombuffer(base64.b64decode(raw_vector, validate=True), dtype=np.float32) if raw_vector else None
        links = [Link(**link) for link in item.get("links") or []]
    except RememError:
        raise
    except (KeyError, TypeError, ValueError, ValidationError, binascii.Error) as exc:
        raise InvalidInputError(f"not a remem export item: {exc}") from exc
    rid = record.id
    if not isinstance(rid, str) or not rid.strip() or len(rid) > MAX_ID_CHARS:
        raise InvalidInputError(f"record id must be a non-empty string of at most {MAX_ID_CHARS} characters")
    check_content(record.content)
    index_text = item.get("index_text") or record.content
    if not isinstance(index_text, str) or "\x00" in index_text:
        raise InvalidInputError(f"memory {rid!r}: index_text must be a string without NUL characters")
    fingerprint = item.get("fingerprint")
    if fingerprint is not None and not isinstance(fingerprint, str):
        raise InvalidInputError(f"memory {rid!r}: fingerprint must be a string or null")
    for h in history:
        if h.memory_id != rid or h.record.id != rid:
            raise InvalidInputError(
                f"memory {rid!r}: a history entry belongs to {h.memory_id!r}/{h.record.id!r}; "
                "an item may only carry its own history"
            )
        if h.record.user_id != record.user_id:
            raise InvalidInputError(f"memory {rid!r}: a history entry names another user")
        check_content(h.record.content)
    for link in links:
        if link.src != rid:
            raise InvalidInputError(f"memory {rid!r}: a link starts at {link.src!r}; an item may only carry its own links")
        weight_ok = isinstance(link.weight, (int, float)) and not isinstance(link.weight, bool)
        if not isinstance(link.dst, str) or not link.dst or not isinstance(link.relation, str) or not weight_ok:
            raise InvalidInputError(f"memory {rid!r}: malformed link {link!r}")
    if vector is not None:
        if dim is not None and vector.shape[0] != dim:
            raise InvalidInputError(f"memory {rid!r}: vector has {vector.shape[0]} dims, store expects {dim}")
        if not np.all(np.isfinite(vector)):
            raise InvalidInputError(f"memory {rid!r}: vector has non-finite values")
    return ParsedItem(record, history, vector, index_text, links, fingerprint)


def parse_export_items(items: Any, *, dim: int | None = None) -> list[ParsedItem]:
    """Parse every item first (see :func:`parse_export_item`); the error names the bad item."""
    if isinstance(items, (str, bytes, dict)):
        raise InvalidInputError("import needs a list of export items")
    parsed: list[ParsedItem] = []
    for n, item in enumerate(items):
        try:
            parsed.append(parse_export_item(item, dim=dim))
        except InvalidInputError as exc:
            raise InvalidInputError(f"item {n}: {exc}") from exc
    return parsed
