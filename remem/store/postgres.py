"""The server store: PostgreSQL with pgvector (HNSW, cosine) and tsvector full text.

Same semantics as :class:`~remem.store.sqlite.SQLiteStore`; only the location changes::

    Memory(url="postgresql://user:pass@host:5432/db")
    Memory(url="postgresql://host/db?schema=remem&pool_max=20&ef_search=100")

URL query parameters read by remem (the rest go to libpq): ``schema`` (default: the
role's current schema, usually ``public``), ``pool_min``/``pool_max`` (connection pool,
default 1/10), ``ef_search`` (HNSW candidate list, default 100), ``purge_vacuum``
(``true``: VACUUM the tables after a purge so erased rows leave the heap and indexes).

The schema is created on first connect by a small versioned-SQL runner (files in
``remem/store/pg_migrations``, recorded in ``remem_migrations``). Every statement is
scoped by ``tenant = %s``; every write is one transaction.
"""

from __future__ import annotations

import json
import logging
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from functools import partial
from importlib import resources
from typing import Any, Iterator
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import numpy as np

from remem.errors import EmbeddingMismatchError, InvalidInputError, NotFoundError, RememError, StoreError
from remem.models import HistoryEntry, MemoryRecord, Operation
from remem.store.base import DEFAULT_TENANT, DOC_FREQ_CAP, SCHEMA_VERSION, Link, Query, Write
from remem.store.common import ParsedItem, encode_vector, parse_export_items
from remem.store.filters import Condition, TIME_COLUMNS, format_time, parse_filters
from remem.store.text import keywords, words

try:
    import psycopg
    from psycopg import sql
    from psycopg.rows import dict_row
    from psycopg.types.json import Jsonb
    from psycopg_pool import ConnectionPool
    from pgvector.psycopg import register_vector
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise StoreError(
        "PostgreSQL support needs extra packages: pip install 'remem[postgres]' "
        "(psycopg[binary], psycopg-pool, pgvector)"
    ) from exc

log = logging.getLogger("remem.store")

EXACT_SUBSET_LIMIT = 2_000  # at most this many candidate rows: exact scan instead of HNSW (measured: ~10 µs a row)
BM25_K1, BM25_B = 1.2, 0.75  # FTS5's bm25() defaults
_TIME_FIELDS = ("created_at", "updated_at", "event_time", "valid_from", "valid_to", "deleted_at", "last_accessed_at")
_JSON_FIELDS = ("metadata", "source", "keywords", "tags")
_FIELDS = (
    "id", "user_id", "agent_id", "session_id", "kind", "role", "speaker", "content",
    *_TIME_FIELDS, "version", "importance", "strength", "access_count", *_JSON_FIELDS, "context",
)
_COLS = ", ".join(_FIELDS)
_MCOLS = ", ".join("m." + f for f in _FIELDS)
_OWN_PARAMS = {"schema", "pool_min", "pool_max", "ef_search", "purge_vacuum"}
_dumps = partial(json.dumps, ensure_ascii=False, default=str)


def split_url(url: str) -> tuple[str, dict[str, str]]:
    """Separate remem's own query parameters from the libpq connection string."""
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    own = {k: v for k, v in pairs if k in _OWN_PARAMS}
    rest = urlencode([(k, v) for k, v in pairs if k not in _OWN_PARAMS])
    scheme = "postgresql" if parts.scheme == "postgres" else parts.scheme
    return urlunsplit((scheme, parts.netloc, parts.path, rest, parts.fragment)), own


def redact(url: str) -> str:
    """The URL without its password, for messages and stats."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(":" + parts.password + "@", ":***@", 1)
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) for every bundled migration, in order."""
    folder = resources.files("remem.store").joinpath("pg_migrations")
    out = []
    for entry in folder.iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            out.append((int(name[:4]), name, entry.read_text()))
    return sorted(out)


class _Database:
    """The connection pool and schema facts, shared by all tenant views."""

    def __init__(self, url: str) -> None:
        conninfo, own = split_url(url)
        self.display = redact(url)
        self.ef_search = int(own.get("ef_search", 100))
        self.purge_vacuum = own.get("purge_vacuum", "true").lower() not in ("0", "false", "no", "off")
        self.dim: int | None = None
        self.corpus: tuple[float, float, float] | None = None  # BM25's N, avgdl, when
        try:
            with psycopg.connect(conninfo, autocommit=True, connect_timeout=10) as conn:
                self.schema = own.get("schema") or conn.execute("SELECT coalesce(current_schema(), 'public')").fetchone()[0]
                self.ext_schema = self._migrate(conn)
                row = conn.execute(
                    sql.SQL("SELECT value FROM {}.remem_meta WHERE key = 'embed_dim'").format(sql.Identifier(self.schema))
                ).fetchone()
                self.dim = int(row[0]) if row else None
        except psycopg.OperationalError as exc:
            raise StoreError(f"cannot connect to PostgreSQL at {self.display}: {exc}".strip()) from exc
        except psycopg.Error as exc:
            raise StoreError(f"PostgreSQL at {self.display} is not a usable remem store: {exc}") from exc
        self.pool = ConnectionPool(
            conninfo,
            min_size=int(own.get("pool_min", 1)),
            max_size=int(own.get("pool_max", 10)),
            kwargs={"autocommit": True, "connect_timeout": 10},
            configure=self._configure,
            open=True,
            name="remem",
        )

    def _configure(self, conn: "psycopg.Connection[Any]") -> None:
        conn.execute(
            sql.SQL("SET search_path TO {}, {}").format(sql.Identifier(self.schema), sql.Identifier(self.ext_schema))
        )
        conn.execute("SET timezone TO 'UTC'")
        conn.execute(sql.SQL("SET hnsw.ef_search = {}").format(sql.Literal(self.ef_search)))
        conn.execute("SET hnsw.iterative_scan = relaxed_order")  # pgvector >= 0.8: filtered HNSW scans keep going
        register_vector(conn)

    def _migrate(self, conn: "psycopg.Connection[Any]") -> str:
        """Create the schema and pgvector if needed, then apply pending migrations; return pgvector's schema."""
        schema = sql.Identifier(self.schema)
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('remem-migrate'))")
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(schema))
            ext = conn.execute("SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'vector'").fetchone()
            if ext is None:
                has_public = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = 'public'").fetchone()
                target = sql.Identifier("public") if has_public else schema
                try:
                    with conn.transaction():
                        conn.execute(sql.SQL("CREATE EXTENSION IF NOT EXISTS vector SCHEMA {}").format(target))
                except psycopg.Error as exc:
                    raise StoreError(
                        f"the pgvector extension is not installed in {self.display} and this role cannot install it "
                        f"({exc}); run `CREATE EXTENSION vector` as a superuser"
                    ) from exc
                ext = conn.execute("SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'vector'").fetchone()
            ext_schema = ext[0].strip('"')
            conn.execute(sql.SQL("SET LOCAL search_path TO {}, {}").format(schema, sql.Identifier(ext_schema)))
            conn.execute(
                "CREATE TABLE IF NOT EXISTS remem_migrations "
                "(version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {r[0] for r in conn.execute("SELECT version FROM remem_migrations")}
            known = _migrations()
            if done and max(done) > max(v for v, _, _ in known):
                raise StoreError(
                    f"{self.display} (schema {self.schema}) was written by a newer remem "
                    f"(migration {max(done)} > {max(v for v, _, _ in known)})"
                )
            for version, name, script in known:
                if version not in done:
                    log.info("applying PostgreSQL migration %s to schema %s", name, self.schema)
                    conn.execute(script)
                    conn.execute("INSERT INTO remem_migrations (version, name) VALUES (%s, %s)", (version, name))
        return ext_schema

    def close(self) -> None:
        self.pool.close()


def _errors(exc: psycopg.Error, what: str) -> RememError:
    if isinstance(exc, psycopg.errors.UniqueViolation):
        return InvalidInputError(f"{what}: already exists ({exc.diag.constraint_name})")
    if isinstance(exc, (psycopg.DataError, psycopg.IntegrityError)):
        return InvalidInputError(f"{what}: PostgreSQL refused the value: {str(exc).splitlines()[0]}")
    return StoreError(f"{what}: {exc}")


class PostgresStore:
    """A tenant-bound view of one PostgreSQL schema."""

    def __init__(self, url: str, *, tenant: str = DEFAULT_TENANT, _db: _Database | None = None) -> None:
        if not tenant or not isinstance(tenant, str):
            raise InvalidInputError("tenant must be a non-empty string")
        self.tenant = tenant
        self.url = url
        self._db = _db or _Database(url)
        self.path = self._db.display  # what messages and stats call the store

    # -- plumbing --------------------------------------------------------------------
    @contextmanager
    def _tx(self, what: str = "write") -> Iterator["psycopg.Cursor[dict[str, Any]]"]:
        """One transaction on a pooled connection; psycopg errors become remem errors."""
        try:
            with self._db.pool.connection() as conn, conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
                yield cur
        except psycopg.Error as exc:
            raise _errors(exc, what) from exc

    def _select(self, query: Any, params: Any = ()) -> list[dict[str, Any]]:
        try:
            with self._db.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
                cur.execute(query, params)
                return cur.fetchall()
        except psycopg.Error as exc:
            raise _errors(exc, "read") from exc

    # -- lifecycle -------------------------------------------------------------------
    def with_tenant(self, tenant: str) -> "PostgresStore":
        return PostgresStore(self.url, tenant=tenant, _db=self._db)

    def close(self) -> None:
        self._db.close()

    def check_embedding(self, model: str, dim: int) -> None:
        """Record the store's embedding model on first use (and size the vector column
        and its HNSW index); refuse any other model later."""
        with self._tx("check_embedding") as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext('remem-embed:' || current_schema()))")
            cur.execute("SELECT key, value FROM remem_meta WHERE key IN ('embed_model', 'embed_dim')")
            meta = {r["key"]: r["value"] for r in cur.fetchall()}
            if not meta:
                cur.execute("INSERT INTO remem_meta VALUES ('embed_model', %s), ('embed_dim', %s)", (model, str(dim)))
                cur.execute(sql.SQL("ALTER TABLE memories ALTER COLUMN embedding TYPE vector({})").format(sql.Literal(int(dim))))
                cur.execute(
                    "CREATE INDEX IF NOT EXISTS ix_memories_embedding ON memories "
                    "USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)"
                )
            elif meta.get("embed_model") != model or int(meta.get("embed_dim", -1)) != dim:
                raise EmbeddingMismatchError(
                    f"{self.path} was built with embedding model {meta.get('embed_model')!r} "
                    f"({meta.get('embed_dim')} dims); this Memory uses {model!r} ({dim} dims). "
                    "Use the same embedder, or export and re-import into a new store."
                )
        self._db.dim = dim

    # -- writes ----------------------------------------------------------------------
    def _vector(self, vector: np.ndarray | None) -> np.ndarray | None:
        if vector is None:
            return None
        vec = np.ascontiguousarray(vector, dtype=np.float32).reshape(-1)
        if self._db.dim is not None and vec.shape[0] != self._db.dim:
            raise InvalidInputError(f"vector has {vec.shape[0]} dims, store expects {self._db.dim}")
        return vec

    def _row(self, rec: MemoryRecord, index_text: str, vector: np.ndarray | None, fingerprint: str | None) -> dict[str, Any]:
        data = rec.model_dump()
        row = {f: data[f] for f in _FIELDS}
        row["kind"] = rec.kind.value
        for f in _JSON_FIELDS:
            row[f] = Jsonb(row[f], dumps=_dumps)
        row.update(tenant=self.tenant, fingerprint=fingerprint, index_text=index_text, embedding=self._vector(vector))
        return row

    _INSERT = (
        f"INSERT INTO memories (tenant, {_COLS}, fingerprint, index_text, embedding) VALUES "
        f"(%(tenant)s, {', '.join(f'%({f})s' for f in _FIELDS)}, %(fingerprint)s, %(index_text)s, %(embedding)s) "
    )

    def insert(self, writes: list[Write], *, actor: str | None = None) -> list[MemoryRecord]:
        """Insert new memories in one transaction. A write whose ``fingerprint`` is
        already stored is skipped and the stored record returned in its place."""
        if not writes:
            return []
        rows = [self._row(w.record, w.index_text, w.vector, w.fingerprint) for w in writes]
        out: list[MemoryRecord] = []
        try:
            with self._tx("insert") as cur:
                # ON CONFLICT keeps the fingerprint check race-free across concurrent writers
                cur.executemany(
                    self._INSERT + "ON CONFLICT (tenant, fingerprint) DO NOTHING RETURNING id", rows, returning=True
                )
                inserted: list[bool] = []
                while True:
                    inserted.append(cur.fetchone() is not None)
                    if not cur.nextset():
                        break
                for w, new in zip(writes, inserted):
                    if new:
                        out.append(w.record)
                    else:
                        cur.execute(
                            f"SELECT {_COLS} FROM memories WHERE tenant = %s AND fingerprint = %s",
                            (self.tenant, w.fingerprint),
                        )
                        out.append(_from_row(cur.fetchone()))
                fresh = [w for w, new in zip(writes, inserted) if new]
                self._history(cur, [(w.record, Operation.ADD, w.reason, actor, []) for w in fresh])
        except InvalidInputError as exc:
            if "ix_memories_id" in str(exc):
                raise InvalidInputError(f"a memory with id {self._clashing_id(writes)!r} already exists") from exc
            raise
        return out

    def _clashing_id(self, writes: list[Write]) -> str:
        """Which id of a refused batch is taken (stored already, or twice in the batch)."""
        ids = [w.record.id for w in writes]
        stored = self._select("SELECT id FROM memories WHERE tenant = %s AND id = ANY(%s) LIMIT 1", (self.tenant, ids))
        if stored:
            return stored[0]["id"]
        seen: set[str] = set()
        for i in ids:
            if i in seen:
                return i
            seen.add(i)
        return ids[0]

    def _history(self, cur: Any, entries: list[tuple[MemoryRecord, Operation, str | None, str | None, list[str]]]) -> None:
        if not entries:
            return
        cur.executemany(
            "INSERT INTO history (memory_id, tenant, user_id, version, op, changed_at, reason, actor, "
            "changed_fields, snapshot) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (
                    rec.id, self.tenant, rec.user_id, rec.version, op.value, rec.updated_at, reason, actor,
                    Jsonb(changed), Jsonb(rec.model_dump(mode="json"), dumps=_dumps),
                )
                for rec, op, reason, actor, changed in entries
            ],
        )

    def save_version(
        self,
        record: MemoryRecord,
        *,
        op: Operation,
        reason: str | None = None,
        changed_fields: list[str] | None = None,
        index_text: str | None = None,
        vector: np.ndarray | None = None,
        actor: str | None = None,
    ) -> MemoryRecord:
        """Overwrite the current row with ``record`` (a new version) and log it in history."""
        row = self._row(record, index_text or "", vector, None)
        sets = [f"{f} = %({f})s" for f in _FIELDS if f != "id"]
        if index_text is not None:
            sets.append("index_text = %(index_text)s")
        if vector is not None:
            sets.append("embedding = %(embedding)s")
        with self._tx("save_version") as cur:
            cur.execute(
                "SELECT rid, user_id, version FROM memories WHERE id = %s AND tenant = %s FOR UPDATE",
                (record.id, self.tenant),
            )
            found = cur.fetchone()
            if found is None:
                raise NotFoundError(f"no memory with id {record.id!r}")
            if found["user_id"] != record.user_id:
                raise InvalidInputError("a memory cannot move to another user")
            if record.version <= found["version"]:
                raise InvalidInputError(f"version {record.version} is not newer than stored version {found['version']}")
            cur.execute(f"UPDATE memories SET {', '.join(sets)} WHERE rid = %(rid)s", {**row, "rid": found["rid"]})
            self._history(cur, [(record, op, reason, actor, changed_fields or [])])
        return record

    def touch(self, ids: list[str], when: datetime) -> None:
        """Count an access (no new version: access stats are not content)."""
        if not ids:
            return
        with self._tx("touch") as cur:
            cur.execute(
                "UPDATE memories SET access_count = access_count + 1, last_accessed_at = %s "
                "WHERE tenant = %s AND id = ANY(%s)",
                (when, self.tenant, list(ids)),
            )

    def purge(self, *, user_id: str) -> int:
        """Erase every trace of a user: rows, history, links, text and vectors (and,
        with ``purge_vacuum``, VACUUM so the dead tuples leave heap and indexes)."""
        if not user_id:
            raise InvalidInputError("purge needs a user_id")
        with self._tx("purge") as cur:
            cur.execute("SELECT id FROM memories WHERE tenant = %s AND user_id = %s", (self.tenant, user_id))
            ids = [r["id"] for r in cur.fetchall()]
            cur.execute(
                "DELETE FROM history WHERE tenant = %s AND (user_id = %s OR memory_id = ANY(%s))",
                (self.tenant, user_id, ids),
            )
            cur.execute(
                "DELETE FROM links WHERE tenant = %s AND (src = ANY(%s) OR dst = ANY(%s))", (self.tenant, ids, ids)
            )
            cur.execute("DELETE FROM memories WHERE tenant = %s AND user_id = %s", (self.tenant, user_id))
        if self._db.purge_vacuum and ids:
            try:
                with self._db.pool.connection() as conn:
                    conn.execute("VACUUM memories, history, links")
            except psycopg.Error as exc:  # the rows are gone either way; VACUUM only reclaims space
                log.warning("VACUUM after purge failed: %s", exc)
        return len(ids)

    def add_links(self, links: list[Link]) -> None:
        if not links:
            return
        with self._tx("add_links") as cur:
            self._put_links(cur, links)

    def _put_links(self, cur: Any, links: list[Link]) -> None:
        now = datetime.now(timezone.utc)
        cur.executemany(
            "INSERT INTO links (tenant, src, dst, relation, weight, created_at) VALUES (%s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (tenant, src, dst, relation) DO UPDATE SET weight = EXCLUDED.weight, created_at = EXCLUDED.created_at",
            [(self.tenant, link.src, link.dst, link.relation, link.weight, now) for link in links],
        )

    # -- reads -----------------------------------------------------------------------
    def get(self, memory_id: str) -> MemoryRecord | None:
        rows = self._select(f"SELECT {_COLS} FROM memories WHERE id = %s AND tenant = %s", (memory_id, self.tenant))
        return _from_row(rows[0]) if rows else None

    def get_many(self, ids: list[str]) -> list[MemoryRecord]:
        if not ids:
            return []
        rows = self._select(f"SELECT {_COLS} FROM memories WHERE tenant = %s AND id = ANY(%s)", (self.tenant, list(ids)))
        found = {r["id"]: _from_row(r) for r in rows}
        return [found[i] for i in ids if i in found]

    def list(self, query: Query, *, limit: int = 100, offset: int = 0, newest_first: bool = True) -> list[MemoryRecord]:
        where, params = self._where(query)
        order = "DESC" if newest_first else "ASC"
        rows = self._select(
            f"SELECT {_MCOLS} FROM memories m WHERE {where} "
            f"ORDER BY coalesce(m.event_time, m.created_at) {order}, m.rid {order} LIMIT %s OFFSET %s",
            (*params, limit, offset),
        )
        return [_from_row(r) for r in rows]

    def count(self, query: Query) -> int:
        where, params = self._where(query)
        return int(self._select(f"SELECT count(*) AS n FROM memories m WHERE {where}", params)[0]["n"])

    def history(self, memory_id: str) -> list[HistoryEntry]:
        rows = self._select(
            "SELECT * FROM history WHERE memory_id = %s AND tenant = %s ORDER BY hid", (memory_id, self.tenant)
        )
        return [_history_entry(r) for r in rows]

    def links(self, memory_id: str) -> list[Link]:
        rows = self._select(
            "SELECT src, dst, relation, weight FROM links WHERE tenant = %s AND (src = %s OR dst = %s)",
            (self.tenant, memory_id, memory_id),
        )
        return [Link(**r) for r in rows]

    def tenants(self) -> list[str]:
        """Every tenant with memories, history, links or API keys here (for migration and admin)."""
        rows = self._select(
            "SELECT tenant FROM memories UNION SELECT tenant FROM history UNION SELECT tenant FROM links "
            "UNION SELECT tenant FROM api_keys ORDER BY 1"
        )
        return [r["tenant"] for r in rows]

    # -- search ----------------------------------------------------------------------
    def text_search(self, text: str, query: Query, limit: int) -> list[tuple[str, float]]:
        """Okapi BM25 (k1=1.2, b=0.75, FTS5's formula) over the tsvector, best first.

        Terms are the query's content words OR-ed (as for FTS5), stemmed by PostgreSQL's
        ``english`` configuration. Document frequencies count the matching rows in the
        query's scope; N (the table's rows) and the mean document length come from
        :meth:`_corpus`; document length is the number of distinct lexemes.
        """
        terms = keywords(text)
        config, tsv = "english", "m.tsv"
        if not terms:  # only stopwords: like FTS5 (which keeps them), match all the words, unstemmed
            terms = list(dict.fromkeys(words(text)))
            config, tsv = "simple", "to_tsvector('simple'::regconfig, m.index_text)"  # no index: a scan of the scope
        if not terms:
            return []
        terms = terms[:64]
        where, params = self._where(query)
        n, avgdl = self._corpus()
        rows = self._select(
            f"""
            WITH q AS (
                SELECT websearch_to_tsquery('{config}', %s) AS tq,
                       tsvector_to_array(to_tsvector('{config}', %s)) AS lex
            ),
            tf AS (
                SELECT m.rid, m.id, length({tsv}) AS len, coalesce(cardinality(u.positions), 1) AS tf,
                       count(*) OVER (PARTITION BY u.lexeme) AS df
                FROM memories m, q, unnest({tsv}) u
                WHERE {tsv} @@ q.tq AND {where} AND u.lexeme = ANY(q.lex)
            )
            SELECT id, sum(
                       greatest(ln((%s - df + 0.5) / (df + 0.5)), 1e-6)
                       * tf * {BM25_K1 + 1} / (tf + {BM25_K1} * (1 - {BM25_B} + {BM25_B} * len / %s))
                   ) AS score
            FROM tf GROUP BY id, rid ORDER BY score DESC, rid LIMIT %s
            """,
            # words are [^\W_]+, so "a or b" is a plain OR-query: no websearch operator can sneak in
            (" or ".join(terms), " ".join(terms), *params, n, avgdl, limit),
        )
        return [(r["id"], float(r["score"])) for r in rows]

    def index_entries(self, ids: list[str], vectors_for: set[str] | None = None) -> dict[str, tuple[str, np.ndarray | None]]:
        if not ids:
            return {}
        rows = self._select(
            "SELECT id, index_text, embedding FROM memories WHERE tenant = %s AND id = ANY(%s)", (self.tenant, list(ids))
        )
        out: dict[str, tuple[str, np.ndarray | None]] = {}
        for r in rows:
            vec = r["embedding"] if vectors_for is None or r["id"] in vectors_for else None
            if vec is not None:
                vec = np.asarray(vec.to_numpy() if hasattr(vec, "to_numpy") else vec, dtype=np.float32)
            out[r["id"]] = (r["index_text"] or "", vec)
        return out

    def doc_freqs(self, words: list[str]) -> tuple[int, dict[str, int]]:
        n_docs, _ = self._corpus()
        freqs: dict[str, int] = {}
        for w in words:
            rows = self._select(
                "SELECT count(*) AS n FROM (SELECT 1 FROM memories m WHERE m.tenant = %s "
                "AND m.tsv @@ plainto_tsquery('english', %s) LIMIT %s) s",
                (self.tenant, w, DOC_FREQ_CAP),
            )
            freqs[w] = int(rows[0]["n"])
        return int(n_docs), freqs

    def _corpus(self) -> tuple[float, float]:
        """(N, mean document length) for BM25: exact for small tables, else the planner's
        row estimate and a 1,000-row sample, cached for a minute."""
        db = self._db
        cached = db.corpus
        if cached is not None and cached[0] >= 1000 and time.monotonic() - cached[2] < 60:
            return cached[0], cached[1]
        row = self._select(
            "SELECT CASE WHEN c.reltuples >= 1000 THEN c.reltuples::float8 "
            "ELSE (SELECT count(*) FROM memories)::float8 END AS n, "
            "(SELECT avg(length(s.tsv)) FROM (SELECT tsv FROM memories LIMIT 1000) s)::float8 AS avgdl "
            "FROM pg_class c WHERE c.oid = 'memories'::regclass"
        )[0]
        n, avgdl = float(row["n"]), max(float(row["avgdl"] or 1.0), 1.0)
        db.corpus = (n, avgdl, time.monotonic())
        return n, avgdl

    def vector_search(self, vector: np.ndarray, query: Query, limit: int) -> list[tuple[str, float]]:
        """Cosine similarity, best first. Small candidate sets (≤ EXACT_SUBSET_LIMIT rows)
        are scanned exactly; larger ones go through the HNSW index (iterative scan), with
        an exact scan as fallback when the filters leave the index short of ``limit``."""
        if self._db.dim is None:
            raise StoreError("check_embedding() must be called before vector search")
        vec = self._vector(vector)
        where, params = self._where(query)
        try:
            with self._db.pool.connection() as conn, conn.cursor() as cur:
                cur.execute(
                    f"SELECT count(*) FROM (SELECT 1 FROM memories m WHERE {where} LIMIT %s) s",
                    (*params, EXACT_SUBSET_LIMIT + 1),
                )
                n = cur.fetchone()[0]
                if n == 0:
                    return []
                base = f"SELECT m.id, m.embedding <=> %s AS d FROM memories m WHERE {where} AND m.embedding IS NOT NULL"
                rows: list[tuple[str, float]] = []
                if n > EXACT_SUBSET_LIMIT:
                    cur.execute(
                        f"SELECT id, d FROM ({base} ORDER BY m.embedding <=> %s LIMIT %s) s ORDER BY d",
                        (vec, *params, vec, limit),
                    )
                    rows = cur.fetchall()
                if len(rows) < min(limit, n):  # "+ 0" keeps the planner off the HNSW index: exact
                    cur.execute(f"{base} ORDER BY (m.embedding <=> %s) + 0 LIMIT %s", (vec, *params, vec, limit))
                    rows = cur.fetchall()
        except psycopg.Error as exc:
            raise _errors(exc, "vector_search") from exc
        return [(i, 1.0 - float(d)) for i, d in rows]

    def _where(self, query: Query) -> tuple[str, list[Any]]:
        clauses = ["m.tenant = %s"]
        params: list[Any] = [self.tenant]
        for column in ("user_id", "agent_id", "session_id"):
            value = getattr(query, column)
            if value is not None:
                clauses.append(f"m.{column} = %s")
                params.append(value)
        if not query.include_deleted:
            clauses.append("m.deleted_at IS NULL")
        if query.kinds:
            clauses.append("m.kind = ANY(%s)")
            params.append([k.value for k in query.kinds])
        if query.ids is not None:
            clauses.append("m.id = ANY(%s)")
            params.append(list(query.ids))
        if query.time_range:
            start, end = query.time_range
            if start is not None:
                clauses.append("m.event_time >= %s")
                params.append(start)
            if end is not None:
                clauses.append("m.event_time <= %s")
                params.append(end)
        if query.not_ended_at is not None:
            clauses.append("(m.valid_to IS NULL OR m.valid_to > %s)")
            params.append(query.not_ended_at)
        if query.valid_at is not None:
            clauses.append("(m.valid_from IS NULL OR m.valid_from <= %s) AND (m.valid_to IS NULL OR m.valid_to > %s)")
            params.extend([query.valid_at, query.valid_at])
        for cond in parse_filters(query.filters):
            text, values = _condition_sql(cond)
            clauses.append(text)
            params.extend(values)
        return " AND ".join(clauses), params

    # -- API keys (admin: not tenant-bound; the key decides the tenant) ------------------
    def create_api_key(self, key_hash: str, tenant: str, name: str | None = None) -> None:
        with self._tx("create_api_key") as cur:
            cur.execute(
                "INSERT INTO api_keys (key_hash, tenant, name, created_at) VALUES (%s, %s, %s, %s)",
                (key_hash, tenant, name, datetime.now(timezone.utc)),
            )

    def import_api_key(self, row: dict[str, Any]) -> bool:
        """Copy one :meth:`list_api_keys` row verbatim (timestamps kept); False if present."""
        with self._tx("import_api_key") as cur:
            cur.execute(
                "INSERT INTO api_keys (key_hash, tenant, name, created_at, revoked_at) VALUES (%s, %s, %s, %s, %s) "
                "ON CONFLICT (key_hash) DO NOTHING RETURNING key_hash",
                (row["key_hash"], row["tenant"], row.get("name"), _as_time(row["created_at"]), _as_time(row.get("revoked_at"))),
            )
            return cur.fetchone() is not None

    def resolve_api_key(self, key_hash: str) -> str | None:
        rows = self._select("SELECT tenant FROM api_keys WHERE key_hash = %s AND revoked_at IS NULL", (key_hash,))
        return rows[0]["tenant"] if rows else None

    def list_api_keys(self) -> list[dict[str, Any]]:
        rows = self._select("SELECT key_hash, tenant, name, created_at, revoked_at FROM api_keys ORDER BY created_at")
        return [{**r, "created_at": format_time(r["created_at"]), "revoked_at": format_time(r["revoked_at"])} for r in rows]

    def revoke_api_key(self, key_hash: str) -> bool:
        with self._tx("revoke_api_key") as cur:
            cur.execute(
                "UPDATE api_keys SET revoked_at = %s WHERE key_hash = %s AND revoked_at IS NULL",
                (datetime.now(timezone.utc), key_hash),
            )
            return cur.rowcount > 0

    # -- export / import / stats -----------------------------------------------------
    def export(self, query: Query) -> Iterator[dict[str, Any]]:
        """Every matching memory (deleted ones too) with its history, index text, vector and links."""
        q = Query(**{**query.__dict__, "include_deleted": True})
        where, params = self._where(q)
        last = 0
        while True:
            rows = self._select(
                f"SELECT m.rid AS _rid, m.fingerprint AS _fp, m.index_text AS _text, m.embedding AS _vec, {_MCOLS} "
                f"FROM memories m WHERE {where} AND m.rid > %s ORDER BY m.rid LIMIT 500",
                (*params, last),
            )
            if not rows:
                return
            ids = [r["id"] for r in rows]
            history: dict[str, list[HistoryEntry]] = {}
            for h in self._select(
                "SELECT * FROM history WHERE tenant = %s AND memory_id = ANY(%s) ORDER BY hid", (self.tenant, ids)
            ):
                history.setdefault(h["memory_id"], []).append(_history_entry(h))
            links: dict[str, list[dict[str, Any]]] = {}
            for link in self._select(
                "SELECT src, dst, relation, weight FROM links WHERE tenant = %s AND src = ANY(%s)", (self.tenant, ids)
            ):
                links.setdefault(link["src"], []).append(link)
            for row in rows:
                last = row.pop("_rid")
                text, vec, fingerprint = row.pop("_text"), row.pop("_vec"), row.pop("_fp")
                record = _from_row(row)
                yield {
                    "record": record.model_dump(mode="json"),
                    "index_text": text,
                    "fingerprint": fingerprint,
                    "vector": encode_vector(vec),
                    "history": [h.model_dump(mode="json") for h in history.get(record.id, [])],
                    "links": links.get(record.id, []),
                }

    def import_item(self, item: dict[str, Any]) -> bool:
        """Insert one exported item verbatim; False if its id or fingerprint is already here."""
        return self.import_items([item])[0] == 1

    def import_items(self, items: list[dict[str, Any]]) -> tuple[int, int]:
        """Insert exported items verbatim in one transaction; returns (added, skipped).

        Every item is checked before anything is written, so a bad one changes nothing.
        An item whose id or fingerprint is already in this tenant is skipped.
        """
        parsed = parse_export_items(items, dim=self._db.dim)
        rows = [self._row(p.record, p.index_text, p.vector, p.fingerprint) for p in parsed]
        added = 0
        with self._tx("import") as cur:
            for p, row in zip(parsed, rows):
                added += self._import_one(cur, p, row)
        return added, len(parsed) - added

    def _import_one(self, cur: Any, p: ParsedItem, row: dict[str, Any]) -> bool:
        # no conflict target: a clash on either unique key (id or fingerprint) skips the item, race-free
        cur.execute(self._INSERT + "ON CONFLICT DO NOTHING RETURNING id", row)
        if cur.fetchone() is None:
            return False
        self._history(cur, [(h.record, h.op, h.reason, h.actor, h.changed_fields) for h in p.history])
        if p.links:
            self._put_links(cur, p.links)
        return True

    def stats(self) -> dict[str, Any]:
        t = (self.tenant,)
        by_kind = {r["kind"]: r["n"] for r in self._select(
            "SELECT kind, count(*) AS n FROM memories WHERE tenant = %s AND deleted_at IS NULL GROUP BY kind", t)}
        one = self._select(
            "SELECT count(*) AS total, count(deleted_at) AS deleted, count(DISTINCT user_id) AS users, "
            "count(DISTINCT session_id) AS sessions FROM memories WHERE tenant = %s", t)[0]
        meta = {r["key"]: r["value"] for r in self._select("SELECT key, value FROM remem_meta")}
        size = self._select(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) AS n FROM pg_class c "
            "WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'm')")[0]["n"]
        return {
            "path": self.path,
            "tenant": self.tenant,
            "memories": int(one["total"]) - int(one["deleted"]),
            "deleted": int(one["deleted"]),
            "users": int(one["users"]),
            "sessions": int(one["sessions"]),
            "by_kind": by_kind,
            "history_entries": self._select("SELECT count(*) AS n FROM history WHERE tenant = %s", t)[0]["n"],
            "links": self._select("SELECT count(*) AS n FROM links WHERE tenant = %s", t)[0]["n"],
            "embed_model": meta.get("embed_model"),
            "embed_dim": int(meta["embed_dim"]) if "embed_dim" in meta else None,
            "schema_version": SCHEMA_VERSION,
            "size_bytes": int(size),
            "backend": "postgresql",
            "schema": self._db.schema,
        }


# -- filters -----------------------------------------------------------------------------
# Metadata comparisons follow SQLite's json_extract() typing so both stores filter alike:
# numbers and booleans (as 1/0) compare numerically, strings as text (bytewise), any
# number sorts before any text, and a missing key or JSON null matches nothing.
_J = "(m.metadata #> %s)"
_NUM = (f"(CASE jsonb_typeof({_J}) WHEN 'number' THEN ({_J} #>> '{{}}')::numeric "
        f"WHEN 'boolean' THEN ({_J} = 'true'::jsonb)::int::numeric END)")
_TXT = f"(CASE WHEN jsonb_typeof({_J}) IN ('string', 'object', 'array') THEN {_J} #>> '{{}}' END)"
_NUM_ARGS, _TXT_ARGS = _NUM.count("%s"), _TXT.count("%s")  # how many times each expression uses the path


def _metadata_compare(path: list[str], op: str, value: Any) -> tuple[str, list[Any]]:
    num, txt = (f"{_NUM}", [path] * _NUM_ARGS), (f"{_TXT}", [path] * _TXT_ARGS)
    if isinstance(value, (int, float)):
        same, other, cast = num, txt, "%s::numeric"
        other_wins = op in (">", ">=", "!=")  # text sorts after numbers
    else:
        same, other, cast = (f'{_TXT} COLLATE "C"', txt[1]), num, '%s::text COLLATE "C"'
        other_wins = op in ("<", "<=", "!=")
    text = f"{same[0]} {op} {cast}"
    args = [*same[1], value]
    if other_wins:
        text = f"({text} OR {other[0]} IS NOT NULL)"
        args += other[1]
    return text, args


def _condition_sql(cond: Condition) -> tuple[str, list[Any]]:
    if cond.column is not None:
        expr = f"m.{cond.column}"
        typed = "timestamptz" if cond.column in TIME_COLUMNS else "text"

        def conv(v: Any) -> Any:
            return v if v is None or typed == "timestamptz" else str(v)

        if cond.op == "IN":
            return f"{expr} = ANY(%s::{typed}[])", [[conv(v) for v in cond.value]]
        if cond.op == "NOT IN":
            return f"{expr} <> ALL(%s::{typed}[])", [[conv(v) for v in cond.value]]
        if cond.value is None:
            return (f"{expr} IS NULL" if cond.op == "=" else f"{expr} IS NOT NULL"), []
        return f"{expr} {cond.op} %s::{typed}", [conv(cond.value)]
    path = list(cond.path)
    if cond.op in ("IN", "NOT IN"):
        parts = [_metadata_compare(path, "=" if cond.op == "IN" else "!=", v) for v in cond.value]
        joiner = " OR " if cond.op == "IN" else " AND "
        return "(" + joiner.join(p for p, _ in parts) + ")", [a for _, args in parts for a in args]
    if cond.value is None:  # json_extract() gives NULL for a missing key and for JSON null
        if cond.op == "=":
            return f"({_J} IS NULL OR jsonb_typeof({_J}) = 'null')", [path, path]
        return f"jsonb_typeof({_J}) <> 'null'", [path]
    return _metadata_compare(path, cond.op, cond.value)


# -- rows ----------------------------------------------------------------------------------
def _as_time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    from remem.models import parse_time

    return parse_time(value)


def _from_row(row: dict[str, Any]) -> MemoryRecord:
    return MemoryRecord.from_store({f: row[f] for f in _FIELDS})


def _history_entry(r: dict[str, Any]) -> HistoryEntry:
    return HistoryEntry(
        memory_id=r["memory_id"], version=r["version"], op=Operation(r["op"]), changed_at=r["changed_at"],
        reason=r["reason"], actor=r["actor"], changed_fields=r["changed_fields"],
        record=MemoryRecord.model_validate(r["snapshot"]),
    )


