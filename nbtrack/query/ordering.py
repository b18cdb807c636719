"""``order_by`` strings ("metrics.acc DESC", "MIN(metrics.loss)", "params.lr") parsed and joined.

Each key is one LEFT JOIN on its table's ``(run_id, key)`` primary key, so it is looked up
once per run. As in MLflow, runs missing the key sort last whatever the direction, a NaN
metric just before them, and ties go newest start first, then by run id ascending; params
and tags sort numbers numerically before other text (MLflow: as text). (A first key on a
metric is read from its index instead: see :mod:`.plan`.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, case
from sqlalchemy.sql.expression import ColumnElement

from nbtrack.errors import QueryError
from nbtrack.query.compiler import attribute_column, key_column, key_table
from nbtrack.query.lexer import tokenize
from nbtrack.query.nodes import Ident
from nbtrack.query.parser import _Parser, parse_operand
from nbtrack.query.sqlfuncs import as_number
from nbtrack.store import schema as s

DEFAULT_ORDER = ("attributes.start_time DESC",)


def parse_order_by(items: Sequence[str] | None) -> list[tuple[Ident, bool]]:
    """``[(identifier, descending), ...]``; raises QueryError naming the bad item."""
    if not items:  # None or [] (as MLflow): newest first
        items = DEFAULT_ORDER
    if isinstance(items, str):
        items = [items]
    out: list[tuple[Ident, bool]] = []
    for text in items:
        if not isinstance(text, str):
            raise QueryError(
                f"order_by items are strings such as 'metrics.acc DESC', not {type(text).__name__}"
            )
        if text != text.strip():  # as MLflow, which cannot parse such an item
            at = 0 if text[:1].isspace() else len(text.rstrip())
            raise QueryError(
                "an order_by item starts or ends with a space",
                text,
                at,
                hint=f"write {text.strip()!r}",
            )
        p = _Parser(text, tokenize(text))
        ident = parse_operand(p)
        if ident.kind in ("cell", "dataset"):
            raise p.error(
                ident,
                f"cannot order by {ident}: a run has many {ident.kind}s",
                "order by metrics, params, tags or attributes",
            )
        tok = p.next()
        descending = False
        if tok.kind == "WORD" and tok.value.upper() in ("ASC", "DESC"):
            descending = tok.value.upper() == "DESC"
            tok = p.next()
        if tok.kind != "END":
            raise p.error(
                tok,
                f"unexpected {tok.describe()} in order_by",
                "write one key per item with an optional ASC or DESC, as in 'metrics.acc DESC'",
            )
        same = next(
            (i for i, _ in out if (i.kind, i.key, i.agg) == (ident.kind, ident.key, ident.agg)),
            None,
        )
        if same is not None:
            raise p.error(
                ident,
                f"order_by names {ident} twice",
                "give each key once; later keys only break the ties of earlier ones",
            )
        out.append((ident, descending))
    return out


def tie_break(items: list[tuple[Ident, bool]]) -> list[ColumnElement[Any]]:
    """What orders runs equal on every key, as MLflow: newest start first, then run id."""
    r = s.runs.c
    ordered = any((i.kind, i.key) == ("attr", "start_time") for i, _ in items)
    return [r.id.asc()] if ordered else [r.start_time.desc(), r.id.asc()]


def order_clauses(
    source: Any, items: list[tuple[Ident, bool]], first: int = 0, indexed: bool = True
) -> tuple[Any, list[ColumnElement[Any]]]:
    """``source`` (a FROM over ``runs``) with the LEFT JOINs of ``items``, and their ORDER BY
    clauses (no tie-break: see :func:`tie_break`); ``first`` numbers the join aliases. ``indexed=False`` keeps the
    engine from reading the order from the start_time index (to sort a few filtered runs)."""
    clauses: list[ColumnElement[Any]] = []
    for i, (ident, descending) in enumerate(items, first):
        if ident.kind == "attr":
            col = attribute_column(ident.key)
            keys: list[ColumnElement[Any]] = [
                col if indexed or ident.key != "start_time" else col + 0
            ]
        else:
            t = key_table(ident.kind).alias(f"order_{i}")
            source = source.outerjoin(t, and_(t.c.run_id == s.runs.c.id, t.c.key == ident.key))
            col = key_column(ident, t)
            if ident.kind == "metric":  # numbers, then NaN (NULL in a row), then no row
                rank = case((col.is_not(None), 0), (t.c.run_id.is_not(None), 1), else_=2)
                clauses.append(rank.asc())
                keys = [col]
            else:  # params and tags: numbers by value first, then the rest as text
                keys = [as_number(col), col]
        for key in keys:
            clause = key.desc() if descending else key.asc()
            # NULLS LAST on a NOT NULL column of runs (start_time) would keep PostgreSQL from
            # reading the order from its index: newest first would sort every run
            not_null = ident.kind == "attr" and getattr(key, "nullable", True) is False
            clauses.append(clause if not_null else clause.nulls_last())
    return source, clauses
