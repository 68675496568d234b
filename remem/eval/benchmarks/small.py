"""Small stores: a new user's handful of memories and questions with an obvious right answer.

The bundled stores (``remem/eval/small_stores.json``) are among what the ranker is fitted on;
``--heldout`` runs ``small_stores_heldout.json`` instead, which the fit never reads: the honest
estimate for a store the ranker has not seen. ``--data FILE`` runs your own cases, in the
same format (see either file's ``about``).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from remem.errors import InvalidInputError
from remem.eval.benchmark import Benchmark, CliOption, Plan, choose, curve, mem_index_note, question_entry, register, unknown_gold
from remem.eval.harness import Retrieval, Variant
from remem.eval.metrics import locomo_metrics
from remem.eval.modes import EvalMode
from remem.eval.report import EvalReport, Table, ks_table
from remem.eval.small_stores import load_small_stores

SMALL_KS = (1, 3, 5, 10)
THRESHOLDS = (0.01, 0.02, 0.03, 0.05)  # search(..., threshold=t): what each keeps and drops
FITTED_FILE = "small_stores.json"
HELDOUT_FILE = "small_stores_heldout.json"


def bundled(name: str) -> Path:
    """The path of a small-store file shipped in ``remem.eval``."""
    return Path(str(resources.files("remem.eval").joinpath(name)))


class SmallStores(Benchmark):
    name = "small"
    help = ("Small stores (a new user's few memories): right memory first and recall@k per store; "
            "--heldout for the stores the ranker was never fitted on, --data for your own file.")
    needs_data = False
    group_field = "store"
    limit_help = "First N stores."
    data_help = "A small-store JSON file of your own (default: the bundled small_stores.json)."
    options = (CliOption("heldout", "--heldout", bool, False, "Run the held-out stores (never fitted on) instead of the fitted ones."),)

    def run(self, data_path: Any = None, **kwargs: Any) -> EvalReport:
        """The bundled file (fitted or held-out), or ``data_path``."""
        heldout = kwargs.pop("heldout", False)
        if data_path is not None and heldout:
            raise InvalidInputError("give --data or --heldout, not both")
        path = Path(data_path) if data_path is not None else bundled(HELDOUT_FILE if heldout else FITTED_FILE)
        return super().run(path, **kwargs)

    def plan(self, data: Path, *, limit: int | None, sample: int | None, seed: int) -> Plan:
        """One store per entry; the first ``limit`` stores, their questions (or ``sample`` of them)."""
        if not data.is_file():
            raise InvalidInputError(f"small-store file {data} not found")
        haystacks = load_small_stores(data)[:limit]
        keep, total = choose([q for h in haystacks for q in h.questions], sample, seed)
        labels = {h.id: h.id for h in haystacks}
        return Plan(haystacks, [Variant("memories", lambda h: h.sessions)], keep, total, max(SMALL_KS), labels, options={"file": str(data)})

    def score(self, r: Retrieval, plan: Plan) -> list[dict[str, Any]]:
        gold = r.question.gold["turn"]
        metrics = locomo_metrics(r.ranked, gold, SMALL_KS)
        metrics["first@1"] = 1.0 if r.ranked and r.ranked[0] in gold else 0.0  # any right memory first
        right = [h.score for h, unit in zip(r.hits, r.ranked) if unit in gold]
        wrong = [h.score for h, unit in zip(r.hits, r.ranked) if unit not in gold]
        for t in THRESHOLDS:  # hit.score as a threshold: the right memories it keeps, the wrong hits it drops
            metrics[f"kept@{t}"] = sum(x >= t for x in right) / len(right) if right else None
            metrics[f"dropped@{t}"] = sum(x < t for x in wrong) / len(wrong) if wrong else None
        return [question_entry(r, ("store", r.question.group), gold=gold, retrieved=r.ranked, metrics=metrics)]

    def notes(self, found: list[Retrieval], plan: Plan) -> list[str]:
        unmatched = unknown_gold(found)
        return [
            f"Stores from {plan.options['file']}; one fresh store and user scope each, memories added with their times "
            f"(a shared 'session' is one session), indexed as Memory.add indexes them (IndexConfig: {mem_index_note()}); "
            "each question searched at its 'now' (default: the store's last memory time).",
            "first@1: a right memory ranks first (any of the question's gold ids); recall@k: the share of its gold ids in the top k; "
            f"kept@t / dropped@t: of a question's hits (top {max(SMALL_KS)}), the right ones scoring >= t / the wrong ones scoring < t.",
            f"{len(unmatched)} gold id(s) name no memory and count as misses: {', '.join(unmatched) or 'none'}.",
        ]

    def tables(self, summary: list[dict[str, Any]], modes: list[EvalMode], plan: Plan) -> list[Table]:
        return [
            ks_table(summary, modes, "first", (1,), "Small stores: a right memory first", "share of questions whose first hit is right", plan.labels),
            ks_table(summary, modes, "recall", SMALL_KS, "Small stores: recall@k", "share of a question's right memories in the top k", plan.labels),
            ks_table(summary, modes, "kept", THRESHOLDS, "Small stores: right memories a threshold keeps",  # type: ignore[arg-type]
                     "search(..., threshold=t): share of a question's right hits scoring >= t (fitted-ranker modes; others score on other scales)", plan.labels),
            ks_table(summary, modes, "dropped", THRESHOLDS, "Small stores: wrong hits a threshold drops",  # type: ignore[arg-type]
                     "share of a question's wrong hits scoring < t", plan.labels),
        ]

    def curves(self, plan: Plan) -> list[dict[str, Any]]:
        return [curve("recall_at_k.png", "Small stores recall@k", "recall@", SMALL_KS)]

    def config(self, found: list[Retrieval], plan: Plan) -> dict[str, Any]:
        return {"file": plan.options["file"]}


SMALL = register(SmallStores())
run_small = SMALL.run
