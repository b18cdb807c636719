"""Runs side by side: params, metrics (min / max / last) and tags, and the cell-level code
diff of their executed sequences (each run against the first)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from nbtrack.errors import ValidationError
from nbtrack.query.runs import number_text
from nbtrack.store import open_store

if TYPE_CHECKING:
    from nbtrack.store import Store


def compare_runs(
    run_ids: Sequence[str],
    *,
    all_rows: bool = False,
    store: Store | str | None = None,
    code_diffs: int | None = None,
    history: bool = False,
    charts: dict[str, str | None] | None = None,
) -> dict[str, Any]:
    """The comparison of two or more runs (unique id prefixes will do).

    ``params`` / ``tags``: ``[{"key", "values": [per run, None if unset], "same"}]``;
    ``metrics``: the same with values ``{"min", "max", "last"}``; rows equal across every
    run, and ``system/*`` metrics, are left out unless ``all_rows``. ``code``: for each run after the
    first, ``{"a": first id, "b": its id, "cells": nbtrack.query.codediff.diff_cells entries}`` of
    the runs' own bodies (:func:`bodies`), with ``"history"``, the diff of the whole executed
    sequences, when ``history``; only for the first ``code_diffs`` of them when given (the
    sidebar shows the first two runs' diff). ``charts`` (``{"metric", "x", "y"}``, each ``None``
    for the default) adds ``"charts"``: :func:`nbtrack.query.comparecharts.compare_charts`.
    """
    from nbtrack.query.codediff import diff_cells
    from nbtrack.query.runs import iso, json_number

    if isinstance(run_ids, str) or len(run_ids) < 2:
        raise ValidationError("compare needs at least two runs")
    st = open_store(store, create=False)
    ids = list(dict.fromkeys(st.resolve_run_id(r) for r in run_ids))
    if len(ids) < 2:
        raise ValidationError("compare needs two different runs")
    rows = st.run_summaries(ids)
    runs = [
        {
            "id": r["id"],
            "name": r["name"],
            "experiment": r["experiment"],
            "status": r["status"],
            "start_time": iso(r["start_time"]),
        }
        for r in rows
    ]

    def metric(summary: dict[str, Any] | None) -> dict[str, Any] | None:
        if summary is None:
            return None
        return {
            "min": json_number(summary["min"]),
            "max": json_number(summary["max"]),
            "last": json_number(summary["latest"]),
        }

    summaries = [st.metric_summary(r["id"]) for r in rows]
    out: dict[str, Any] = {"runs": runs}
    out["params"] = _table([r["params"] for r in rows], all_rows)
    # system/* samples (CPU, memory) differ between any two runs: shown with all_rows only
    shown = [
        {k: metric(v) for k, v in m.items() if all_rows or not k.startswith("system/")}
        for m in summaries
    ]
    out["metrics"] = _table(shown, all_rows)
    out["tags"] = _table([r["tags"] for r in rows], all_rows)
    others = rows[1:] if code_diffs is None else rows[1 : 1 + max(code_diffs, 0)]
    first = st.run_cells(rows[0]) if others else []
    out["code"] = []
    for r in others:
        cells = st.run_cells(r)
        diff = {"a": rows[0]["id"], "b": r["id"], "cells": diff_cells(*bodies(first, cells))}
        if history:
            diff["history"] = diff_cells(first, cells)
        out["code"].append(diff)
    if charts is not None:
        from nbtrack.query.comparecharts import compare_charts
        from nbtrack.query.runs import run_summary

        out["charts"] = compare_charts(st, [run_summary(r) for r in rows], **charts)
    return out


def bodies(
    a: list[dict[str, Any]], b: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The cells of two runs' executed sequences that ran inside each run (from its start: the
    ``%%track`` cell, or every cell between ``start_run`` and its end): what a code diff of two
    runs compares by default. Two runs made one after the other in one session share their
    history, so diffing whole sequences would show the first run's cell as removed."""
    return [c for c in a if c.get("in_run")], [c for c in b if c.get("in_run")]


def code_diff(
    store: Store, a: dict[str, Any], b: dict[str, Any], *, history: bool = False
) -> list[dict[str, Any]]:
    """The cell-level diff of runs ``a`` and ``b`` (``Store.run_summaries`` rows): their bodies,
    or with ``history`` their whole executed sequences. The one path of the compare widget, the
    sidebar's Compare and ``nbtrack compare``."""
    from nbtrack.query.codediff import diff_cells

    old, new = store.run_cells(a), store.run_cells(b)
    return diff_cells(old, new) if history else diff_cells(*bodies(old, new))


def _table(per_run: list[dict[str, Any]], all_rows: bool) -> list[dict[str, Any]]:
    keys = sorted({k for values in per_run for k in values})
    out = []
    for key in keys:
        values = [values.get(key) for values in per_run]
        same = all(v == values[0] for v in values[1:])
        if same and not all_rows:
            continue
        out.append({"key": key, "values": values, "same": same})
    return out


def comparison_lines(data: dict[str, Any], *, width: int = 24) -> list[str]:
    """The comparison as text: a column per run, then unified diffs of the changed cells."""
    runs = data["runs"]
    header = ["", *[f"{r['id'][:8]} {r['name']}" for r in runs]]
    lines: list[str] = []

    def table(title: str, rows: list[list[str]]) -> None:
        if not rows:
            return
        cols = [header, *rows]
        widths = [min(width, max(len(c[i]) for c in cols)) for i in range(len(header))]
        lines.append(f"{title}:")
        for row in cols:
            lines.append(
                "  "
                + "  ".join(_cut(x, w).ljust(w) for x, w in zip(row, widths, strict=True)).rstrip()
            )

    table("params", [[p["key"], *[_text(v) for v in p["values"]]] for p in data["params"]])
    table(
        "metrics (min / max / last)",
        [[m["key"], *[_metric(v) for v in m["values"]]] for m in data["metrics"]],
    )
    table("tags", [[t["key"], *[_text(v) for v in t["values"]]] for t in data["tags"]])
    if not (data["params"] or data["metrics"] or data["tags"]):
        lines.append("params, metrics and tags are identical (--all shows them)")
    for diff in data["code"]:
        lines += code_lines(diff)
    return lines


def code_lines(diff: dict[str, Any]) -> list[str]:
    """One run's code against another's: a summary, then each added/removed/changed cell."""
    entries = [e for e in diff["cells"] if e["kind"] != "same"]
    head = f"code {diff['a'][:8]} -> {diff['b'][:8]}:"
    if not diff["cells"]:
        return [f"{head} no recorded cells"]
    if not entries:
        return [f"{head} identical ({len(diff['cells'])} cells)"]
    counts = {k: sum(e["kind"] == k for e in entries) for k in ("changed", "added", "removed")}
    out = [f"{head} " + ", ".join(f"{n} {k}" for k, n in counts.items() if n)]
    for e in entries:
        where = e["a"] if e["b"] is None else e["b"]
        label = (
            f"[{where['execution_count']}]"
            if where and where.get("execution_count") is not None
            else ""
        )
        index = f"cell {e['a']['index']}" if e["a"] else ""
        index += (" -> " if e["a"] and e["b"] else "") + (
            f"cell {e['b']['index']}" if e["b"] else ""
        )
        out.append(f"@@ {e['kind']} {index} {label}".rstrip())
        out += [f"{ln['op']}{ln['text']}" for ln in e["lines"]]
    return out


def _text(value: Any) -> str:
    return "-" if value is None else str(value)


def _metric(value: dict[str, Any] | None) -> str:
    if value is None:
        return "-"
    return " / ".join(_num(value[k]) for k in ("min", "max", "last"))


def _num(x: Any) -> str:
    return number_text(x) if isinstance(x, float) else str(x)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
