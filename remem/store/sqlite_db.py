"""The SQLite file behind :class:`~remem.store.sqlite.SQLiteStore`: connection, schema, transactions."""

from __future__ import annotations

import logging
import sqlite3
import threading
from importlib import resources
from pathlib import Path
from typing import Any

from remem.errors import StoreError
from remem.store.base import SCHEMA_VERSION
from remem.store.text_index import TextIndex
from remem.store.vector_index import VectorIndex

APPLICATION_ID = 0x52454D4D  # "REMM"
WAL_LIMIT_BYTES = 64 * 1024 * 1024
MMAP_BYTES = 1 << 30
"""Reads go through a memory map of up to this much of the file (address space, not RAM): a read
path's ~100 random row lookups take half the time of reading pages into SQLite's cache."""

log = logging.getLogger("remem")


class Database:
    """The connection, its lock and the derived indexes (vectors, text), shared by all tenant views."""

    def __init__(
        self, path: Path, hnsw_threshold: int, large_index: str = "auto", pq_threshold: int | None = None
    ) -> None:
        self.path = path
        self.lock = threading.RLock()
        self.vocab_ready = False  # temp.remem_vocab (fts5vocab over the text index) made on this connection
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(
                str(path), timeout=30.0, isolation_level=None, check_same_thread=False
            )
            self._open_schema()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path} is not a usable remem store: {exc}") from exc
        self.dim: int | None = None
        self.index: VectorIndex | None = None
        self.text_index = TextIndex()
        self.alive: dict[tuple[str, str], float] = {}  # per partition: share of index hits the filters kept last time
        self.hnsw_threshold = hnsw_threshold
        self.large_index = large_index  # what partitions past pq_threshold become (VectorIndex's large_index)
        self.pq_threshold = pq_threshold

    def _open_schema(self) -> None:
        conn = self.conn
        conn.execute("PRAGMA busy_timeout = 30000")
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if app_id != APPLICATION_ID and tables > 0:
            raise StoreError(f"{self.path} is an SQLite file but not a remem store")
        if version > SCHEMA_VERSION:
            raise StoreError(f"{self.path} was written by a newer remem (schema {version} > {SCHEMA_VERSION})")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        # the WAL is cut back to this size when it restarts after a checkpoint: a bulk insert no
        # longer leaves a WAL as large as the data written (3.6 GB beside a 3.5 GB file after 1M rows)
        conn.execute(f"PRAGMA journal_size_limit = {WAL_LIMIT_BYTES}")
        conn.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
        if tables == 0:
            script = resources.files("remem.store").joinpath("schema.sql").read_text()
            with self.transaction():  # BEGIN IMMEDIATE: a second opener of the new file waits, then sees it made
                if conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0:
                    for statement in split_sql(script):
                        conn.execute(statement)
                    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                    conn.execute("PRAGMA user_version = 1")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        for number, name, script in migrations():
            if number > version:  # one transaction each: a crash leaves the store at the last one
                with self.transaction():
                    if conn.execute("PRAGMA user_version").fetchone()[0] >= number:
                        continue  # another process applied it first
                    log.info("applying SQLite migration %s to %s", name, self.path)
                    for statement in split_sql(script):
                        conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {number}")

    def transaction(self) -> "Transaction":
        return Transaction(self)


class Transaction:
    """``BEGIN IMMEDIATE`` … ``COMMIT``, rolled back on any exception."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.lock.acquire()
        try:
            self.db.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.DatabaseError as exc:
            self.db.lock.release()
            raise store_error(self.db.path, exc) from exc
        except BaseException:
            self.db.lock.release()
            raise
        return self.db.conn

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            self.db.conn.execute("COMMIT" if exc_type is None else "ROLLBACK")
        except sqlite3.DatabaseError as err:
            if exc_type is None:
                raise store_error(self.db.path, err) from err
        finally:
            self.db.lock.release()
        if exc_type is not None and issubclass(exc_type, sqlite3.DatabaseError):
            raise store_error(self.db.path, exc) from exc  # rolled back: nothing was written


def store_error(path: Path, exc: BaseException) -> StoreError:
    """A database failure (read-only file, disk full, locked too long) as remem's error."""
    return StoreError(f"{path}: {exc} (nothing was written)")


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every bundled migration after schema 1, in order."""
    folder = resources.files("remem.store").joinpath("sqlite_migrations")
    found = [(int(e.name[:4]), e.name, e.read_text()) for e in folder.iterdir() if e.name.endswith(".sql") and e.name[:4].isdigit()]
    return sorted(found)


def split_sql(script: str) -> list[str]:
    body = "\n".join(line for line in script.splitlines() if not line.strip().startswith("--"))
    return [s.strip() for s in body.split(";") if s.strip()]
