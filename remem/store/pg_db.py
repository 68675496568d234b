"""The PostgreSQL server behind :class:`~remem.store.postgres.PostgresStore`: URL, pool, migrations, errors."""

from __future__ import annotations

import logging
from importlib import resources
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from remem.errors import InvalidInputError, RememError, StoreError
from remem.store.text_index import TextIndex

try:
    import psycopg
    from psycopg import sql
    from psycopg.rows import dict_row
    from psycopg_pool import ConnectionPool
    from pgvector.psycopg import register_vector
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise StoreError(
        "PostgreSQL support needs extra packages: pip install 'remem[postgres]' "
        "(psycopg[binary], psycopg-pool, pgvector)"
    ) from exc

__all__ = ["Database", "dict_row", "pg_error", "psycopg", "redact", "split_url", "sql"]

log = logging.getLogger("remem.store")

_OWN_PARAMS = {"schema", "pool_min", "pool_max", "ef_search", "purge_vacuum"}


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


class Database:
    """The connection pool and schema facts, shared by all tenant views."""

    def __init__(self, url: str) -> None:
        conninfo, own = split_url(url)
        self.display = redact(url)
        self.ef_search = int(own.get("ef_search", 100))
        self.purge_vacuum = own.get("purge_vacuum", "true").lower() not in ("0", "false", "no", "off")
        self.dim: int | None = None
        self.text_index = TextIndex()  # this process's derived text index, fed from the texts log
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


def pg_error(exc: psycopg.Error, what: str) -> RememError:
    if isinstance(exc, psycopg.errors.UniqueViolation):
        return InvalidInputError(f"{what}: already exists ({exc.diag.constraint_name})")
    if isinstance(exc, (psycopg.DataError, psycopg.IntegrityError)):
        return InvalidInputError(f"{what}: PostgreSQL refused the value: {str(exc).splitlines()[0]}")
    return StoreError(f"{what}: {exc}")
