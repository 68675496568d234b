"""``EvalReport``: summary rows, the results.json / report.md / PNG files, and rich tables."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from remem.eval.metrics import mean_metrics

if TYPE_CHECKING:
    from remem.eval.modes import EvalMode

INDEX_KEYS = ("protocol", "granularity")


def summarize(questions: Iterable[dict[str, Any]], group_field: str, metric_field: str = "metrics") -> list[dict[str, Any]]:
    """Mean metrics per (protocol, granularity, mode) and per group, plus an ``all`` group.

    Rows: ``{"protocol"?, "granularity"?, "mode", "group", "n", "metrics": {...}}``
    where ``n`` counts questions with at least one defined value.
    """
    buckets: dict[tuple, list[dict[str, Any]]] = {}
    for q in questions:
        values = q.get(metric_field)
        if not values:
            continue
        index = tuple((k, q[k]) for k in INDEX_KEYS if k in q)
        for group in ("all", str(q[group_field])):
            buckets.setdefault((index, q["mode"], group), []).append(values)
    rows = []
    for (index, mode, group), values in buckets.items():
        means, n = mean_metrics(values)
        rows.append({**dict(index), "mode": mode, "group": group, "n": n, "metrics": means})
    return rows


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


@dataclass
class Table:
    """A plain table that renders to rich and to Markdown."""

    title: str
    columns: list[str]
    rows: list[list[Any]]
    note: str = ""

    def markdown(self) -> str:
        lines = [f"### {self.title}", ""]
        if self.note:
            lines += [self.note, ""]
        lines.append("| " + " | ".join(self.columns) + " |")
        lines.append("|" + "|".join("---" if i == 0 else "---:" for i in range(len(self.columns))) + "|")
        lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in self.rows]
        return "\n".join(lines) + "\n"

    def rich(self) -> Any:
        from rich.table import Table as RichTable

        table = RichTable(title=self.title, caption=self.note or None)
        for i, col in enumerate(self.columns):
            table.add_column(col, justify="left" if i < 2 else "right")
        last = None
        for row in self.rows:
            if last is not None and row[0] != last:
                table.add_section()
            last = row[0]
            table.add_row(*(_fmt(v) for v in row))
        return table


def by_group_then_mode(summary: list[dict[str, Any]], modes: Sequence[EvalMode]) -> list[dict[str, Any]]:
    """Summary rows ``all`` first, then by group, modes in the order they were asked for."""
    order = {m.name: i for i, m in enumerate(modes)}
    return sorted(summary, key=lambda r: (r["group"] != "all", r["group"], order.get(r["mode"], 99)))


def ks_table(
    summary: list[dict[str, Any]], modes: Sequence[EvalMode], metric: str, ks: Sequence[int], title: str, note: str, labels: dict[str, str]
) -> Table:
    """``<metric>@k`` for every k: a row per group and mode."""
    cols = ["category", "mode", "n"] + [f"@{k}" for k in ks]
    body = [
        [labels.get(r["group"], r["group"]), r["mode"], r["n"]] + [r["metrics"].get(f"{metric}@{k}") for k in ks]
        for r in by_group_then_mode(summary, modes)
    ]
    return Table(title, cols, body, note)


def qa_summary(entries: list[dict[str, Any]], group_field: str) -> list[dict[str, Any]]:
    """Mean judge verdict (J), F1 when scored, and context tokens per group and mode."""
    rows = []
    for q in entries:
        if "qa" in q:
            metrics = {"J": q["qa"]["correct"], "context_tokens": q["qa"]["context_tokens"]}
            if "f1" in q["qa"]:
                metrics["F1"] = q["qa"]["f1"]
            rows.append({"mode": q["mode"], group_field: q[group_field], "qa_metrics": metrics})
    return summarize(rows, group_field, metric_field="qa_metrics")


def qa_table(rows: list[dict[str, Any]], labels: dict[str, str], title: str) -> Table:
    """The QA summary as a table."""
    cols = ["group", "mode", "n", "J (judge)"]
    with_f1 = any("F1" in r["metrics"] for r in rows)
    if with_f1:
        cols.append("F1")
    cols.append("context tokens")
    body = []
    for r in sorted(rows, key=lambda r: (r["group"] != "all", r["group"], r["mode"])):
        m = r["metrics"]
        line = [labels.get(r["group"], r["group"]), r["mode"], r["n"], m.get("J")]
        if with_f1:
            line.append(m.get("F1"))
        line.append(round(m.get("context_tokens", 0)))
        body.append(line)
    return Table(title, cols, body)


@dataclass
class EvalReport:
    """What a run measured; ``questions`` holds every (question, mode[, protocol, granularity]) entry."""

    benchmark: str
    out_dir: Path | None
    config: dict[str, Any]
    timings: dict[str, Any]
    summary: list[dict[str, Any]]
    questions: list[dict[str, Any]]
    tables: list[Table] = field(default_factory=list)
    qa_summary: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def metric(self, name: str, *, mode: str, group: str = "all", **index: str) -> float | None:
        """One summary number, e.g. ``report.metric("recall@10", mode="hybrid")``."""
        for row in self.summary:
            if row["mode"] == mode and row["group"] == group and all(row.get(k) == v for k, v in index.items()):
                return row["metrics"].get(name)
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "benchmark": self.benchmark,
            "config": self.config,
            "timings": self.timings,
            "summary": self.summary,
            "qa_summary": self.qa_summary,
            "notes": self.notes,
            "questions": self.questions,
        }

    def markdown(self) -> str:
        cfg = self.config
        lines = [f"# remem eval: {self.benchmark}", ""]
        lines.append(f"- command: `{cfg.get('command', '')}`")
        for key in ("remem_version", "git_commit", "embedder", "modes", "search_config", "data", "data_sha256", "subset"):
            if key in cfg:
                lines.append(f"- {key}: `{json.dumps(cfg[key]) if not isinstance(cfg[key], str) else cfg[key]}`")
        t = self.timings
        lines.append(
            f"- ingest: {t.get('ingest_s', 0):.1f} s for {t.get('turns', 0)} turns in {t.get('stores', 0)} stores "
            f"(embedding cache: {t.get('cache_hits', 0)} hits, {t.get('cache_misses', 0)} misses)"
        )
        for mode, lat in (t.get("search_ms") or {}).items():
            lines.append(f"- search {mode}: p50 {lat['p50']:.1f} ms, p95 {lat['p95']:.1f} ms over {lat['n']} queries")
        if self.notes:
            lines += ["", "Notes:", ""] + [f"- {n}" for n in self.notes]
        lines.append("")
        for table in self.tables:
            lines.append(table.markdown())
        plots = sorted(p.name for p in self.out_dir.glob("*.png")) if self.out_dir else []
        for name in plots:
            lines.append(f"![{name}]({name})")
        return "\n".join(lines) + "\n"

    def write(self) -> None:
        """results.json, report.md and the PNG plots into ``out_dir``."""
        if self.out_dir is None:
            return
        self.out_dir.mkdir(parents=True, exist_ok=True)
        (self.out_dir / "results.json").write_text(json.dumps(self.to_dict(), indent=1, default=str), encoding="utf-8")
        try:
            write_plots(self)
        except ImportError:
            self.notes.append("PNG plots skipped: matplotlib is not installed (pip install 'remem[eval]').")
        (self.out_dir / "report.md").write_text(self.markdown(), encoding="utf-8")

    def print(self, console: Any = None) -> None:
        """The tables, with timings, on a rich console."""
        from rich.console import Console

        console = console or Console()
        for table in self.tables:
            console.print(table.rich())
        t = self.timings
        console.print(
            f"ingest {t.get('ingest_s', 0):.1f} s for {t.get('turns', 0)} turns "
            f"(embedding cache {t.get('cache_hits', 0)} hits / {t.get('cache_misses', 0)} misses)"
        )
        for mode, lat in (t.get("search_ms") or {}).items():
            console.print(f"search {mode}: p50 {lat['p50']:.1f} ms  p95 {lat['p95']:.1f} ms  ({lat['n']} queries)")
        cfg = self.config
        console.print(
            f"remem {cfg.get('remem_version')} @ {cfg.get('git_commit')}  embedder {cfg.get('embedder', {}).get('model')}  "
            f"fusion {cfg.get('search_config', {}).get('fusion')}"
        )
        if self.out_dir is not None:
            console.print(f"results in {self.out_dir}/ (results.json, report.md, *.png)")


# --------------------------------------------------------------------------- plots


def _curve_groups(report: EvalReport, index: dict[str, str]) -> dict[str, dict[str, dict[str, float]]]:
    """group -> mode -> metrics, for summary rows matching ``index``."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for row in report.summary:
        if all(row.get(k) == v for k, v in index.items()):
            out.setdefault(row["group"], {})[row["mode"]] = row["metrics"]
    return out


def _recall_figure(path: Path, title: str, groups: dict[str, dict[str, dict[str, float]]], prefix: str, ks: Sequence[int], labels: dict[str, str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = ["all"] + sorted(g for g in groups if g != "all")
    names = [g for g in names if g in groups]
    cols = min(4, len(names))
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 3.0 * rows), squeeze=False, sharey=True)
    for ax, group in zip(axes.flat, names):
        for mode, metrics in groups[group].items():
            ys = [metrics.get(f"{prefix}{k}") for k in ks]
            if any(y is not None for y in ys):
                ax.plot(list(ks), [y if y is not None else float("nan") for y in ys], marker="o", label=mode)
        ax.set_xscale("log")
        ax.set_xticks(list(ks), [str(k) for k in ks])
        ax.set_ylim(0, 1)
        ax.set_title(labels.get(group, group), fontsize=9)
        ax.set_xlabel("k")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    axes.flat[0].set_ylabel(prefix.rstrip("@"))
    axes.flat[0].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_plots(report: EvalReport) -> None:
    """Recall@k curves per group and mode; a histogram of search latencies per mode."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = report.out_dir
    assert out is not None
    plot = report.config.get("plot", {})
    labels = plot.get("labels", {})
    for spec in plot.get("curves", []):
        groups = _curve_groups(report, spec["index"])
        if groups:
            _recall_figure(out / spec["file"], spec["title"], groups, spec["prefix"], spec["ks"], labels)
    latencies = report.timings.get("latencies_ms") or {}
    if any(latencies.values()):
        fig, ax = plt.subplots(figsize=(6, 3.5))
        for mode, values in latencies.items():
            if values:
                ax.hist(values, bins=40, alpha=0.5, label=mode)
        ax.set_xlabel("search latency (ms)")
        ax.set_ylabel("queries")
        ax.set_title(f"{report.benchmark}: Memory.search latency")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / "latency.png", dpi=110)
        plt.close(fig)
