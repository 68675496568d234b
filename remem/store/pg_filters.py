"""Record filters in PostgreSQL: columns typed as text or timestamptz, metadata via jsonb paths."""

from __future__ import annotations

from typing import Any

from remem.store.filters import TIME_COLUMNS, Condition

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


def condition_sql(cond: Condition) -> tuple[str, list[Any]]:
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
