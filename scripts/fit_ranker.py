"""Refit the read path's ranker (remem/read/ranker.json) from the benchmarks in ../shared.

    python scripts/fit_ranker.py            # collect features (slow, cached), fit, write ranker.json
    python scripts/fit_ranker.py --check    # refit and compare with the shipped file byte for byte
    python scripts/fit_ranker.py fit        # fit only, from the collected features

**collect**: every haystack of LoCoMo (categories 1-4), LongMemEval-S dev (official protocol:
user turns) and MADial-Bench, plus remem's own small stores (remem/eval/small_stores.json), is
ingested through ``Memory.add`` into a fresh store, exactly as ``remem eval`` does; for each
question the read path's candidates (dense and BM25 top 150, time-range lists) are taken with
their features (remem/read/features.py) and labelled by the gold evidence. The features go to
``eval-out/ranker-features.json.gz`` (not committed: derived from licensed data).

**fit**: a pairwise logistic regression (scikit-learn, L2, lbfgs: deterministic) on the feature
differences of each question's gold and other candidates — a ranking objective — then Platt
scaling on every candidate, so the score is a calibrated probability. Every dataset weighs the
same (small stores half) and every question the same within it. Parameters are rounded to
4 decimals, so the same features give the same file byte for byte. Leave-one-dataset-out: fit
on the others, measure on the one left out, beside the all-data fit; that table (printed, and
stored in ranker.json) is the honest estimate of how the ranker does on data it never saw.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data"
PARAMS = REPO / "remem" / "read" / "ranker.json"
FEATURES_FILE = REPO / "eval-out" / "ranker-features.json.gz"
SEARCH_LIMIT = 50  # as remem eval: candidates = max(3 × limit, 50) per retriever
C = 1.0  # Platt scaling is unregularised; C is unused by the pairwise step
L2 = 1e-4  # ridge on the pairwise weights (features are on [0, 1] scales)
WEIGHTS = {"locomo": 1.0, "longmemeval": 1.0, "madial": 1.0, "small": 0.5}
HELD_OUT = ("locomo", "longmemeval", "madial")


# --------------------------------------------------------------------------- collect


def _datasets() -> dict[str, tuple[list[Any], Callable[[Any], list[Any]], str]]:
    """name -> (haystacks, sessions to index, gold key)."""
    from remem.eval.datasets import LOCOMO_SCORED, load_locomo, load_longmemeval, protocol_sessions
    from remem.eval.small_stores import load_small_stores

    out: dict[str, tuple[list[Any], Callable[[Any], list[Any]], str]] = {}
    locomo = load_locomo(SHARED / "locomo" / "locomo10.json")
    for h in locomo:
        h.questions = [q for q in h.questions if int(q.group) in LOCOMO_SCORED and q.gold["turn"]]
    out["locomo"] = (locomo, lambda h: h.sessions, "turn")
    lme = [h for h in load_longmemeval(SHARED / "longmemeval" / "longmemeval_s_dev.json") if not h.questions[0].extra["abstention"]]
    out["longmemeval"] = (lme, lambda h: protocol_sessions(h, "official"), "official/turn")
    try:
        from remem.eval.datasets import load_madial

        out["madial"] = (load_madial(SHARED / "madial" / "madial_en.json"), lambda h: h.sessions, "turn")
    except ImportError:
        print("fit_ranker: no MADial loader; skipping it", file=sys.stderr)
    out["small"] = (load_small_stores(), lambda h: h.sessions, "turn")
    return out


def collect(path: Path = FEATURES_FILE, only: list[str] | None = None) -> dict[str, list[dict[str, Any]]]:
    """Collect every dataset's features (or only those named, keeping the rest of ``path``)."""
    from remem.eval.harness import Variant, make_embedder, run_haystacks
    from remem.eval.modes import resolve_modes
    from remem.read.features import FEATURES
    from remem.read.search import SearchConfig, candidates

    config = SearchConfig()
    emb = make_embedder(None, True)
    data: dict[str, list[dict[str, Any]]] = {}
    if only and path.exists():
        with gzip.open(path, "rt", encoding="utf-8") as f:
            kept = json.load(f)
        if kept["features"] != list(FEATURES):
            sys.exit(f"fit_ranker: {path} was collected with other features; collect every dataset (drop --only)")
        data = kept["data"]
    for name, (haystacks, sessions, gold_key) in _datasets().items():
        if only and name not in only:
            continue
        rows: list[dict[str, Any]] = []

        def hook(mem: Any, hay: Any, variant: Any, found: Any, rows: list = rows, gold_key: str = gold_key) -> None:
            for q in hay.questions:
                query, when = mem._read_query(hay.id, None, None, None, None, None, q.date, None)
                cands, _, _ = candidates(mem.store, mem.embedder, q.question, query, SEARCH_LIMIT, config, "hybrid", when)
                gold = set(q.gold[gold_key])
                units = [str(c.record.metadata.get("unit_id", c.record.id)) for c in cands]
                position = {c.row.id: i for i, c in enumerate(cands)}
                rows.append({
                    "id": q.id,
                    "group": q.group,
                    "gold": sorted(gold),
                    "gold_sessions": sorted(q.gold.get("official/session", [])),
                    "units": units,
                    "sessions": [str(c.record.metadata.get("session") or c.record.session_id or "") for c in cands],
                    "x": [[round(v, 6) for v in c.feature_row()] for c in cands],
                    "sup": [position.get(c.superseded_by, -1) if c.superseded_by else -1 for c in cands],
                })

        print(f"fit_ranker: collecting {name} ({len(haystacks)} stores)", file=sys.stderr)
        run_haystacks(
            haystacks, [Variant("index", sessions)], resolve_modes("bm25"), embedder=emb, memory_factory=None,
            search_limit=1, keep=lambda q: True, on_store=hook,
        )  # fmt: skip
        data[name] = rows
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as f:
        json.dump({"features": list(FEATURES), "data": data}, f)
    return data


# --------------------------------------------------------------------------- fit and measure


def select(data: dict[str, list[dict[str, Any]]], stored: list[str]) -> tuple[dict[str, list[dict[str, Any]]], list[str]]:
    """Keep the columns of the features the read path uses now (collected files may hold more)."""
    from remem.read.features import FEATURES

    missing = [f for f in FEATURES if f not in stored]
    if missing:
        sys.exit(f"fit_ranker: the collected features lack {missing}; run: python scripts/fit_ranker.py collect")
    cols = [stored.index(f) for f in FEATURES]
    for rows in data.values():
        for r in rows:
            r["x"] = [[x[c] for c in cols] for x in r["x"]]
    return data, list(FEATURES)


def _matrix(rows: list[dict[str, Any]], weight: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    xs, ys, ws = [], [], []
    per_question = weight / max(1, len(rows))
    for r in rows:
        if not r["units"]:
            continue
        gold = set(r["gold"])
        n = len(r["units"])
        xs.extend(r["x"])
        ys.extend(1 if u in gold else 0 for u in r["units"])
        ws.extend([per_question / n] * n)
    return np.asarray(xs, dtype=np.float64), np.asarray(ys), np.asarray(ws)


def fit(data: dict[str, list[dict[str, Any]]], names: list[str], features: list[str]) -> dict[str, Any]:
    """Pairwise logistic regression (each gold candidate against the question's others: a
    ranking objective) with sign constraints (remem.read.features.SIGNS: evidence weighs
    for, never against), then Platt scaling of its score on every candidate, so the final
    ``sigmoid(bias + w·x)`` is a calibrated probability of relevance."""
    from scipy.optimize import minimize
    from sklearn.linear_model import LogisticRegression

    from remem.read.features import SIGNS

    diffs, diff_w = [], []
    for n in names:
        rows = [r for r in data.get(n, []) if r["units"] and set(r["gold"]) & set(r["units"])]
        for r in rows:
            x = np.asarray(r["x"], dtype=np.float64)
            gold = np.asarray([u in set(r["gold"]) for u in r["units"]])
            pos, neg = x[gold], x[~gold]
            if not len(pos) or not len(neg):
                continue
            d = (pos[:, None, :] - neg[None, :, :]).reshape(-1, x.shape[1])
            diffs.append(d)
            diff_w.append(np.full(len(d), WEIGHTS[n] / len(rows) / len(d)))
    d = np.concatenate(diffs)
    w = np.concatenate(diff_w)
    w = w / w.sum()

    def loss(beta: np.ndarray) -> tuple[float, np.ndarray]:
        m = d @ beta
        value = float(np.sum(w * np.logaddexp(0.0, -m))) + 0.5 * L2 * float(beta @ beta)
        grad = -(d.T @ (w * (1.0 - 1.0 / (1.0 + np.exp(-m))))) + L2 * beta
        return value, grad

    bounds = [(0.0, None) if SIGNS[f] > 0 else (None, 0.0) if SIGNS[f] < 0 else (None, None) for f in features]
    start = np.asarray([1.0 if SIGNS[f] > 0 else 0.0 for f in features])
    found = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds, options={"maxiter": 5000, "gtol": 1e-10, "ftol": 1e-14})
    direction = found.x
    parts = [_matrix(data[n], WEIGHTS[n]) for n in names if n in data]
    x = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    pw = np.concatenate([p[2] for p in parts])
    pw = pw * (len(pw) / pw.sum())
    platt = LogisticRegression(C=1e6, solver="lbfgs", max_iter=5000, tol=1e-10)
    platt.fit((x @ direction)[:, None], y, sample_weight=pw)
    scale, bias = float(platt.coef_[0][0]), float(platt.intercept_[0])
    weights = {f: round(float(c) * scale, 4) + 0.0 for f, c in zip(features, direction)}
    return {"bias": round(bias, 4), "weights": weights}


def _scores(params: dict[str, Any], features: list[str], x: list[list[float]]) -> np.ndarray:
    if not x:
        return np.zeros(0)
    w = np.asarray([params["weights"].get(f, 0.0) for f in features])
    return np.asarray(x) @ w + params["bias"]


def _search_scores(params: dict[str, Any], features: list[str], row: dict[str, Any]) -> np.ndarray:
    """The logits as the read path ranks them: the newest memory about a thing inherits the
    relevance its superseded one would have without the penalty (remem.read.search)."""
    z = _scores(params, features, row["x"])
    sup = row.get("sup")
    if not len(z) or not sup:
        return z
    penalty = [features.index(f) for f in ("superseded", "superseded_now") if f in features]
    x = np.asarray(row["x"])
    w = np.asarray([params["weights"].get(features[c], 0.0) for c in penalty])
    out = z.copy()
    for i, j in enumerate(sup):
        if j >= 0:
            out[j] = max(out[j], z[i] - float(x[i, penalty] @ w))
    return out


def measure(rows: list[dict[str, Any]], order: Callable[[dict[str, Any]], np.ndarray]) -> dict[str, float]:
    """recall@10 (share of evidence in the top 10), all-evidence@10, session R_all@5 (by best turn), hit@1."""
    recall, all10, sess5, hit1 = [], [], [], []
    for r in rows:
        gold = set(r["gold"])
        ranked_idx = np.argsort(-order(r), kind="stable") if r["units"] else np.zeros(0, dtype=int)
        ranked = [r["units"][i] for i in ranked_idx]
        top = set(ranked[:10])
        if gold:
            recall.append(len(gold & top) / len(gold))
            hit1.append(1.0 if ranked and ranked[0] in gold else 0.0)
        all10.append(1.0 if gold <= top else 0.0)
        if r.get("gold_sessions"):
            seen: list[str] = []
            for i in ranked_idx[:SEARCH_LIMIT]:
                s = r["sessions"][i]
                if s not in seen:
                    seen.append(s)
            sess5.append(1.0 if set(r["gold_sessions"]) <= set(seen[:5]) else 0.0)
    out = {"recall@10": float(np.mean(recall)) if recall else 0.0, "all@10": float(np.mean(all10)) if all10 else 0.0, "hit@1": float(np.mean(hit1)) if hit1 else 0.0}
    if sess5:
        out["session_all@5"] = float(np.mean(sess5))
    return {k: round(v, 4) for k, v in out.items()}


def report(data: dict[str, list[dict[str, Any]]], features: list[str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    names = [n for n in WEIGHTS if n in data]
    full = fit(data, names, features)
    table = []
    col = {f: i for i, f in enumerate(features)}
    for held in names:
        rows = data[held]
        entry: dict[str, Any] = {"dataset": held, "questions": len(rows)}
        entry["dense"] = measure(rows, lambda r: np.asarray([x[col["cos"]] for x in r["x"]]))
        entry["lexical"] = measure(rows, lambda r: np.asarray([x[col["lex"]] + 1e-3 * x[col["cos"]] for x in r["x"]]))
        entry["all_data_fit"] = measure(rows, lambda r: _search_scores(full, features, r))
        if held in HELD_OUT:
            lodo = fit(data, [n for n in names if n != held], features)
            entry["left_out_fit"] = measure(rows, lambda r, p=lodo: _search_scores(p, features, r))
        table.append(entry)
    return full, table


def render(table: list[dict[str, Any]]) -> str:
    lines = ["| dataset | n | dense | lexical | left-out fit | all-data fit |", "|---|---|---|---|---|---|"]
    for e in table:
        def cell(key: str) -> str:
            m = e.get(key)
            if not m:
                return "—"
            extra = f" / sess@5 {m['session_all@5']:.3f}" if "session_all@5" in m else ""
            return f"{m['recall@10']:.3f} (all {m['all@10']:.3f}, @1 {m['hit@1']:.3f}{extra})"
        lines.append(f"| {e['dataset']} | {e['questions']} | {cell('dense')} | {cell('lexical')} | {cell('left_out_fit')} | {cell('all_data_fit')} |")
    return "\n".join(lines)


def params_file(full: dict[str, Any], table: list[dict[str, Any]], data: dict[str, list[dict[str, Any]]]) -> str:
    doc = {
        "about": "Logistic regression over remem.read.features.FEATURES; refit with: python scripts/fit_ranker.py",
        "bias": full["bias"],
        "weights": full["weights"],
        "fitted_on": {n: len(data[n]) for n in WEIGHTS if n in data},
        "C": C,
        "dataset_weights": {n: WEIGHTS[n] for n in WEIGHTS if n in data},
        "leave_one_dataset_out": table,
    }
    return json.dumps(doc, indent=1, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", nargs="?", choices=["all", "collect", "fit"], default="all")
    parser.add_argument("--features", type=Path, default=FEATURES_FILE, help="collected features (json.gz)")
    parser.add_argument("--out", type=Path, default=PARAMS, help="where to write the parameters")
    parser.add_argument("--check", action="store_true", help="refit and compare with --out instead of writing it")
    parser.add_argument("--only", default=None, help="collect only these datasets (comma-separated), keeping the others")
    args = parser.parse_args(argv)
    if args.step in ("all", "collect") and not (args.check and args.features.exists() and args.step != "collect"):
        data = collect(args.features, args.only.split(",") if args.only else None)
        if args.step == "collect":
            return 0
    with gzip.open(args.features, "rt", encoding="utf-8") as f:
        stored = json.load(f)
    data, features = select(stored["data"], stored["features"])
    full, table = report(data, features)
    text = params_file(full, table, data)
    print(render(table))
    print("weights:", json.dumps(full["weights"]), "bias:", full["bias"])
    if args.check:
        same = args.out.exists() and args.out.read_text() == text
        print("fit_ranker: " + ("reproduced byte for byte" if same else f"differs from {args.out}"))
        return 0 if same else 1
    args.out.write_text(text)
    print(f"fit_ranker: wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
