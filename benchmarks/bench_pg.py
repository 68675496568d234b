"""PostgreSQL + pgvector next to SQLite: ingest rate, search latency, recall, BM25 agreement.

    python benchmarks/bench_pg.py --sizes 10000,100000 --queries 200
    python benchmarks/bench_pg.py --url postgresql://user@host/db --sizes 1000000

Both stores get the same rows through the store layer (``Store.insert``, batches of
``--batch``): sentence-like synthetic text and synthetic clustered 384-dim unit vectors
from ``_common`` (the same generators as ``bench_search.py``), all in one user's scope.
At each size, per store: ``vector`` = ``vector_search`` top-50 (PostgreSQL: HNSW
``ORDER BY embedding <=> q``; SQLite: its in-process HNSW), ``bm25`` = ``text_search``
top-50 (both: the derived in-memory text index, fed from each store's ``texts`` log),
``bm25 SQL`` = the baseline in the same run: PostgreSQL's BM25 as one SQL statement over the
GIN-indexed tsvector (the text search before the derived index), ``hybrid`` =
``hybrid_search`` minus the query embedding (identical for both), recall@10 against exact
numpy top-10. PostgreSQL runs at each ``--ef-search``.

Then, if ``../shared/data/locomo`` is there, the BM25 agreement: every LoCoMo turn goes
into both stores (one user per conversation), every question runs ``text_search`` in its
conversation, and we report evidence recall@10 for each store, the top-1 agreement and
the mean overlap of the two top-10 lists.

The server: ``--url``, else ``REMEM_BENCH_PG_URL``, else ``scripts/pg.sh start``. A
schema ``bench_<pid>`` is created and dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

from _common import LOCOMO, REPO_ROOT, ClusteredVectors, SentenceGenerator, console, now, pct, table, write_json
from remem.models import MemoryRecord
from remem.read import SearchConfig, hybrid_search
from remem.store import Query, SQLiteStore, Write
from remem.store.postgres import PostgresStore
from remem.store.text import keywords

USER = "bench-user"
MODEL, DIM = "bench-synthetic", 384


class PresetEmbedder:
    """Hands back a preset query vector: the query embedding is the same cost for both stores."""

    model_name, dim = MODEL, DIM

    def __init__(self, vector: np.ndarray) -> None:
        self.vector = vector

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.vector[None, :]


def server_url(arg: str | None) -> str:
    url = arg or os.environ.get("REMEM_BENCH_PG_URL")
    if url:
        return url
    done = subprocess.run(["bash", str(REPO_ROOT / "scripts" / "pg.sh"), "start"], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"scripts/pg.sh start failed: {done.stderr.strip()}")
    return done.stdout.strip().splitlines()[-1]


def with_params(url: str, **params: Any) -> str:
    sep = "&" if "?" in url else "?"
    return url + sep + "&".join(f"{k}={v}" for k, v in params.items())


def insert(store: Any, texts: list[str], vectors: np.ndarray, batch: int, label: str) -> tuple[float, list[str]]:
    ids: list[str] = []
    t0 = now()
    for start in range(0, len(texts), batch):
        writes = []
        for text, vec in zip(texts[start : start + batch], vectors[start : start + batch]):
            rec = MemoryRecord(content=text, user_id=USER, role="user")
            writes.append(Write(record=rec, index_text=text, vector=vec))
            ids.append(rec.id)
        store.insert(writes)
        done = start + len(writes)
        console.print(f"  {label}: {done:,}/{len(texts):,} ({done / (now() - t0):,.0f} rows/s)", end="\r")
    console.print()
    return len(texts) / (now() - t0), ids


def sql_bm25(store: PostgresStore, text: str, query: Query, limit: int) -> list[str]:
    """The baseline: Okapi BM25 computed in one SQL statement over every row matching a query
    word (GIN on the tsvector, then each candidate's lexemes unnested), as PostgresStore ran it
    before the derived text index."""
    terms = keywords(text)[:64]
    if not terms:
        return []
    where, params = store._where(query)
    n, avgdl = store._corpus()
    rows = store._select(
        f"""
        WITH q AS (SELECT websearch_to_tsquery('english', %s) AS tq,
                          tsvector_to_array(to_tsvector('english', %s)) AS lex),
        tf AS (
            SELECT m.rid, m.id, length(m.tsv) AS len, coalesce(cardinality(u.positions), 1) AS tf,
                   count(*) OVER (PARTITION BY u.lexeme) AS df
            FROM memories m, q, unnest(m.tsv) u
            WHERE m.tsv @@ q.tq AND {where} AND u.lexeme = ANY(q.lex)
        )
        SELECT id, sum(greatest(ln((%s - df + 0.5) / (df + 0.5)), 1e-6)
                       * tf * 2.2 / (tf + 1.2 * (1 - 0.75 + 0.75 * len / %s))) AS score
        FROM tf GROUP BY id, rid ORDER BY score DESC, rid LIMIT %s
        """,
        (" or ".join(terms), " ".join(terms), *params, n, avgdl, limit),
    )
    return [r["id"] for r in rows]


def exact_top(matrix: np.ndarray, q: np.ndarray, k: int) -> np.ndarray:
    scores = matrix @ q
    idx = np.argpartition(-scores, k)[:k]
    return idx[np.argsort(-scores[idx])]


def measure(store: Any, ids: list[str], matrix: np.ndarray, texts: list[str], qvecs: np.ndarray) -> dict[str, float]:
    scope, config = Query(user_id=USER), SearchConfig()
    depth = max(30, config.min_candidates)
    t0 = now()
    store.vector_search(qvecs[0], scope, depth)  # SQLite builds/loads its index here
    first = now() - t0
    store.text_search(texts[0], scope, depth)
    vec_s, txt_s, hyb_s, recalls, sql_s = [], [], [], [], []
    for text, q in zip(texts, qvecs):
        t0 = now()
        found = store.vector_search(q, scope, depth)
        vec_s.append(now() - t0)
        t0 = now()
        store.text_search(text, scope, depth)
        txt_s.append(now() - t0)
        if isinstance(store, PostgresStore):
            t0 = now()
            sql_bm25(store, text, scope, depth)
            sql_s.append(now() - t0)
        t0 = now()
        hybrid_search(store, PresetEmbedder(q), text, scope, 10, config)
        hyb_s.append(now() - t0)
        truth = {ids[i] for i in exact_top(matrix, q, 10)}
        recalls.append(len(truth & {i for i, _ in found[:10]}) / 10)
    return {
        "first_search_s": first,
        "vector_p50": pct(vec_s, 50), "vector_p95": pct(vec_s, 95),
        "bm25_p50": pct(txt_s, 50), "bm25_p95": pct(txt_s, 95),
        "bm25_sql_p50": pct(sql_s, 50) if sql_s else None, "bm25_sql_p95": pct(sql_s, 95) if sql_s else None,
        "hybrid_p50": pct(hyb_s, 50), "hybrid_p95": pct(hyb_s, 95),
        "recall_at_10": float(np.mean(recalls)),
    }


def locomo_agreement(lite: SQLiteStore, pg: PostgresStore) -> dict[str, float] | None:
    import json

    if not LOCOMO.exists():
        return None
    data = json.loads(LOCOMO.read_text())
    rng = np.random.default_rng(0)
    dia: dict[str, dict[str, str]] = {"sqlite": {}, "postgres": {}}
    for c, conv in enumerate(data):
        writes = []
        for key, turns in conv["conversation"].items():
            if key.startswith("session_") and isinstance(turns, list):
                for turn in turns:
                    text = f"{turn['speaker']}: {turn['text']}"
                    rec = MemoryRecord(content=text, user_id=f"conv{c}", metadata={"dia_id": turn["dia_id"]})
                    writes.append((rec, text, turn["dia_id"]))
        vecs = rng.standard_normal((len(writes), DIM)).astype(np.float32)
        for name, store in (("sqlite", lite), ("postgres", pg)):
            recs = store.insert([Write(record=r.model_copy(update={"id": MemoryRecord(content="x").id}), index_text=t, vector=v)
                                 for (r, t, _), v in zip(writes, vecs)])
            dia[name].update({rec.id: d for rec, (_, _, d) in zip(recs, writes)})
    if hasattr(pg, "_db"):
        with pg._db.pool.connection() as conn:
            conn.execute("ANALYZE memories")
    recall = {"sqlite": [], "postgres": []}
    top1, overlap, lat = [], [], {"sqlite": [], "postgres": []}
    for c, conv in enumerate(data):
        for qa in conv["qa"]:
            evidence = set(qa.get("evidence") or [])
            if not evidence:
                continue
            got = {}
            for name, store in (("sqlite", lite), ("postgres", pg)):
                t0 = now()
                hits = store.text_search(qa["question"], Query(user_id=f"conv{c}"), 10)
                lat[name].append(now() - t0)
                got[name] = [dia[name][i] for i, _ in hits]
                recall[name].append(len(evidence & set(got[name])) / len(evidence))
            if got["sqlite"] or got["postgres"]:
                top1.append(bool(got["sqlite"] and got["postgres"] and got["sqlite"][0] == got["postgres"][0]))
                a, b = set(got["sqlite"]), set(got["postgres"])
                overlap.append(len(a & b) / max(len(a | b), 1))
    return {
        "questions": len(recall["sqlite"]),
        "sqlite_recall_at_10": float(np.mean(recall["sqlite"])),
        "postgres_recall_at_10": float(np.mean(recall["postgres"])),
        "top1_agreement": float(np.mean(top1)),
        "top10_jaccard": float(np.mean(overlap)),
        "sqlite_p50": pct(lat["sqlite"], 50), "postgres_p50": pct(lat["postgres"], 50),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000", help="comma-separated memory counts (1000000 takes hours on 2 cores)")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--batch", type=int, default=1000, help="rows per insert transaction")
    ap.add_argument("--ef-search", default="40,100", help="PostgreSQL hnsw.ef_search values to measure")
    ap.add_argument("--url", default=None, help="PostgreSQL server URL (default: scripts/pg.sh start)")
    ap.add_argument("--no-locomo", action="store_true", help="skip the LoCoMo BM25 agreement section")
    ap.add_argument("--json", default=None, help="also write results to this JSON file")
    args = ap.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    efs = [int(x) for x in args.ef_search.split(",")]

    base = server_url(args.url)
    schema = f"bench_{os.getpid()}"
    pg_url = with_params(base, schema=schema)
    workdir = Path(tempfile.mkdtemp(prefix="remem-bench-pg-"))
    gen, vecs = SentenceGenerator(), ClusteredVectors(dim=DIM)
    qtexts, qvecs = gen.queries(args.queries), vecs.sample(args.queries)
    lite = SQLiteStore(workdir / "bench.db")
    pg = PostgresStore(pg_url)
    for s in (lite, pg):
        s.check_embedding(MODEL, DIM)
    matrix = np.empty((0, DIM), dtype=np.float32)
    ids: dict[str, list[str]] = {"sqlite": [], "postgres": []}
    results: list[dict[str, Any]] = []
    try:
        for size in sizes:
            n = size - len(matrix)
            console.print(f"[bold]size {size:,}[/bold] (+{n:,})")
            texts, new = gen.sentences(n), vecs.sample(n)
            matrix = np.concatenate([matrix, new])
            row: dict[str, Any] = {"size": size}
            for name, store in (("sqlite", lite), ("postgres", pg)):
                rate, new_ids = insert(store, texts, new, args.batch, name)
                ids[name] += new_ids
                row[f"{name}_insert_rows_per_s"] = rate
            with pg._db.pool.connection() as conn:
                conn.execute("ANALYZE memories")  # autovacuum would; the planner needs row counts
                row["postgres_bytes"] = conn.execute(
                    "SELECT sum(pg_total_relation_size(oid)) FROM pg_class WHERE relnamespace = current_schema()::regnamespace "
                    "AND relkind = 'r'").fetchone()[0]
            fresh = SQLiteStore(workdir / "bench.db")  # cold view, like bench_search.py
            fresh.check_embedding(MODEL, DIM)
            row["sqlite"] = measure(fresh, ids["sqlite"], matrix, qtexts, qvecs)
            fresh._db.conn.close()
            for ef in efs:
                view = PostgresStore(with_params(pg_url, ef_search=ef))
                row[f"postgres_ef{ef}"] = measure(view, ids["postgres"], matrix, qtexts, qvecs)
                view.close()
            results.append(row)
            console.print(f"  sqlite vector p50 {row['sqlite']['vector_p50']:.2f} ms; postgres (ef {efs[0]}) "
                          f"{row[f'postgres_ef{efs[0]}']['vector_p50']:.2f} ms")
        agreement = None
        if not args.no_locomo:
            console.print("[bold]LoCoMo BM25 agreement[/bold]")
            lite2 = SQLiteStore(workdir / "locomo.db")
            pg2 = PostgresStore(with_params(base, schema=schema + "_locomo"))
            for s in (lite2, pg2):
                s.check_embedding(MODEL, DIM)
            agreement = locomo_agreement(lite2, pg2)
            lite2.close()
            pg2.close()
    finally:
        lite._db.conn.close()
        pg.close()
        shutil.rmtree(workdir, ignore_errors=True)
        import psycopg

        with psycopg.connect(base, autocommit=True) as conn:
            for s in (schema, schema + "_locomo"):
                conn.execute(f'DROP SCHEMA IF EXISTS "{s}" CASCADE')

    cols = ["memories", "store", "insert rows/s", "vector p50", "vector p95", "recall@10", "bm25 p50", "bm25 p95",
            "bm25 SQL p50 (before)", "bm25 SQL p95 (before)", "hybrid p50", "hybrid p95", "first search s"]
    rows = []
    for r in results:
        for key in ["sqlite", *[f"postgres_ef{ef}" for ef in efs]]:
            m = r[key]
            label = "sqlite" if key == "sqlite" else f"postgres ef_search={key.split('ef')[-1]}"
            rate = r["sqlite_insert_rows_per_s"] if key == "sqlite" else r["postgres_insert_rows_per_s"]
            rows.append([r["size"], label, rate, m["vector_p50"], m["vector_p95"], m["recall_at_10"], m["bm25_p50"],
                         m["bm25_p95"], m["bm25_sql_p50"] or "—", m["bm25_sql_p95"] or "—", m["hybrid_p50"], m["hybrid_p95"],
                         m["first_search_s"]])
    wide = Console(width=200)
    wide.print(table(f"SQLite vs PostgreSQL + pgvector, ms ({args.queries} queries, one user's scope, "
                        "hybrid = dense + bm25 + fusion + fetch, no query embedding)", cols, rows))
    if agreement:
        wide.print(table("BM25 on LoCoMo: SQLite vs PostgreSQL text_search top-10 (both the derived text index)",
                            list(agreement), [list(agreement.values())]))
    write_json(args.json, {"benchmark": "pg", "queries": args.queries, "results": results, "locomo_bm25": agreement})


if __name__ == "__main__":
    sys.exit(main())
