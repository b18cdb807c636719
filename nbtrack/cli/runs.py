"""How ``nbtrack runs`` prints runs: a table fitted to the terminal, or CSV.

The table shows each run's own columns, then metric columns: those the listed runs have, the
most common first, as many as fit the terminal's width (the rest are named on stderr), or the
columns ``--columns`` chooses (:data:`COLUMNS_HELP` is the syntax).
"""

from __future__ import annotations

import csv
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nbtrack.errors import ValidationError
from nbtrack.query.runs import number_text

COLUMNS_HELP = (
    "the columns after each run's id, name, experiment, status, start and duration, comma-separated "
    "(repeatable): metrics.NAME, params.NAME, tags.NAME, or a plain NAME for a metric; "
    "e.g. --columns loss,params.lr,tags.owner. Default: the metrics the listed runs have, the most "
    "common first, as many as fit the terminal (csv: every column)"
)
MAX_WIDTH = 40  # no column is wider; longer values are cut with "…"
_GROUPS = {"metric": "metrics", "param": "params", "tag": "tags"}
_RUN_FIELDS = (
    "id",
    "name",
    "experiment",
    "status",
    "start_time",
    "end_time",
    "duration",
    "parent_run_id",
)


@dataclass(frozen=True)
class Column:
    """A metric, param or tag of runs, shown as a column."""

    group: str  # "metrics", "params" or "tags", as in a run record
    key: str

    @property
    def header(self) -> str:
        return self.key if self.group == "metrics" else self.name

    @property
    def name(self) -> str:
        return f"{self.group}.{self.key}"

    def text(self, record: dict[str, Any]) -> str:
        value = record[self.group].get(self.key)
        if isinstance(value, float):
            return number_text(value)
        return "" if value is None else str(value)


def parse_columns(specs: Sequence[str]) -> list[Column]:
    """The columns ``--columns`` names, in order, each once (see :data:`COLUMNS_HELP`)."""
    from nbtrack.query.fields import PREFIXES

    columns: dict[Column, None] = {}
    for spec in specs:
        for item in (part.strip() for part in spec.split(",")):
            if not item:
                continue
            prefix, dot, key = item.partition(".")
            kind = PREFIXES.get(prefix.lower()) if dot else None
            if kind in _GROUPS and key:
                columns[Column(_GROUPS[kind], key)] = None
            elif kind is not None:
                raise ValidationError(
                    f"--columns {item!r}: only metrics., params. and tags. columns can be chosen "
                    f"(id, name, experiment, status, started and duration are always shown)"
                )
            else:
                columns[Column("metrics", item)] = None
    if not columns:
        raise ValidationError("--columns names no column; give e.g. --columns loss,params.lr")
    return list(columns)


def metric_columns(records: Sequence[dict[str, Any]]) -> list[Column]:
    """The metrics of ``records``, the most common first, ties alphabetical (system/ ones left out)."""
    counts = Counter(k for r in records for k in r["metrics"] if not k.startswith("system/"))
    return [Column("metrics", k) for k, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def missing_columns(records: Sequence[dict[str, Any]], columns: Sequence[Column]) -> list[str]:
    """A note for each chosen column no listed run has, with the closest name that exists."""
    import difflib

    known = {Column(g, k) for r in records for g in _GROUPS.values() for k in r[g]}
    by_key = {
        c.key: c for c in sorted(known, key=lambda c: c.group == "metrics")
    }  # a metric wins a tie
    notes = []
    for c in columns:
        if c not in known:
            close = difflib.get_close_matches(c.key, by_key, n=1)
            hint = f"; did you mean {by_key[close[0]].header}?" if close else ""
            notes.append(f"no listed run has {c.name}{hint}")
    return notes


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def table_lines(
    records: Sequence[dict[str, Any]], chosen: Sequence[Column] | None, width: int
) -> tuple[list[str], list[Column]]:
    """The table's lines, child runs indented under their parent, and the metric columns left
    out. ``chosen`` columns are all shown; without them, metric columns fill ``width`` (at
    least one is shown, so a narrow terminal still sees a metric)."""
    from nbtrack.query.runtree import nest

    header = ["id", "name", "experiment", "status", "started", "duration"]
    rows = []
    nested = nest(records)
    for depth, r in nested:
        duration = f"{r['duration']:.1f}s" if r["duration"] is not None else ""
        started = (r["start_time"] or "")[:19].replace("T", " ")
        name = ("  " * (depth - 1) + "└ " if depth else "") + r["name"]
        status = r["status"] + (" (deleted)" if r.get("deleted") else "")
        rows.append([r["id"][:8], name, r["experiment"], status, started, duration])
    widths = [min(MAX_WIDTH, max(len(x) for x in col)) for col in zip(header, *rows, strict=True)]
    right = [False] * len(header)
    used = sum(widths) + 2 * (len(widths) - 1)
    candidates = list(chosen) if chosen is not None else metric_columns(records)
    hidden: list[Column] = []
    for i, column in enumerate(candidates):
        texts = [column.text(r) for _, r in nested]
        w = min(MAX_WIDTH, max(len(column.header), *map(len, texts)))
        if chosen is None and i > 0 and used + 2 + w > width:
            hidden = candidates[i:]
            break
        header.append(column.header)
        for row, text in zip(rows, texts, strict=True):
            row.append(text)
        widths.append(w)
        right.append(column.group == "metrics")
        used += 2 + w
    lines = []
    for line in [header, *rows]:
        cells = [
            _cut(x, w).rjust(w) if r else _cut(x, w).ljust(w)
            for x, w, r in zip(line, widths, right, strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
    return lines, hidden


def more_line(hidden: Sequence[Column], width: int) -> str:
    """``+N more metrics: use --columns ...``, naming as many of them as fit ``width``."""
    line = (
        f"+{len(hidden)} more metric{'s' if len(hidden) != 1 else ''}: use --columns to show them ("
    )
    names = [c.header for c in hidden]
    for i, name in enumerate(names):
        last = i == len(names) - 1
        piece = name + (")" if last else ", ")
        if len(line) + len(piece) + (0 if last else 2) > width and i > 0:
            return line + "…)"
        line += piece
    return line


def print_table(
    records: Sequence[dict[str, Any]], chosen: Sequence[Column] | None, width: int
) -> None:
    if not records:
        print("no runs")
        return
    lines, hidden = table_lines(records, chosen, width)
    print("\n".join(lines), flush=True)  # before the notes on stderr, when both go to one file
    _note_missing(records, chosen)
    if hidden:
        print(more_line(hidden, width), file=sys.stderr)


def write_csv(records: Sequence[dict[str, Any]], chosen: Sequence[Column] | None) -> None:
    """One row per run: its own fields, then every param, metric and tag (or the ``chosen`` ones)."""
    rows = []
    for r in records:
        row = {k: r[k] for k in _RUN_FIELDS}
        if chosen is None:
            for group in ("params", "metrics", "tags"):
                row.update({f"{group}.{k}": v for k, v in r[group].items()})
        else:
            row.update({c.name: r[c.group].get(c.key) for c in chosen})
        rows.append(row)
    fields: dict[str, None] = {}
    for row in rows:
        fields.update(dict.fromkeys(row))
    writer = csv.DictWriter(sys.stdout, fieldnames=list(fields))
    writer.writeheader()
    writer.writerows(rows)
    _note_missing(records, chosen)


def _note_missing(records: Sequence[dict[str, Any]], chosen: Sequence[Column] | None) -> None:
    for note in missing_columns(records, chosen or ()) if records else ():
        print(f"note: {note}", file=sys.stderr)
