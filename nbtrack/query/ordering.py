"""``order_by`` strings ("metrics.acc DESC", "MIN(metrics.loss)", "params.lr") applied to a query.

Each key is one LEFT JOIN on its table's ``(run_id, key)`` primary key, so it is looked up
once per run. Runs missing the key sort last whatever the direction; params and tags sort
numbers numerically before other text; ties are broken by run id, so the order is stable.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, and_
from sqlalchemy.sql.expression import ColumnElement

from ..errors import QueryError
from ..store import schema as s
from .compiler import attribute_column
from .lexer import tokenize
from .parser import Ident, _Parser, parse_operand
from .sqlfuncs import as_number

DEFAULT_ORDER = ("attributes.start_time DESC",)


def parse_order_by(items: list[str] | tuple[str, ...] | None) -> list[tuple[Ident, bool]]:
    """``[(identifier, descending), ...]``; raises QueryError naming the bad item."""
    if items is None:
        items = DEFAULT_ORDER
    if isinstance(items, str):
        items = [items]
    out = []
    for text in items:
        if not isinstance(text, str):
            raise QueryError(
                f"order_by items are strings such as 'metrics.acc DESC', not {type(text).__name__}"
            )
        p = _Parser(text, tokenize(text))
        ident = parse_operand(p)
        if ident.kind == "cell":
            raise p.error(
                ident,
                f"cannot order by {ident}: a run has many cells",
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
        out.append((ident, descending))
    return out


def apply_order_by(query: Select[Any], items: list[str] | tuple[str, ...] | None) -> Select[Any]:
    """``query`` (a select over ``runs``) with the joins and ORDER BY of ``items``."""
    source: Any = query.get_final_froms()[0] if len(query.get_final_froms()) == 1 else s.runs
    clauses: list[ColumnElement[Any]] = []
    for i, (ident, descending) in enumerate(parse_order_by(items)):
        if ident.kind == "attr":
            keys: list[ColumnElement[Any]] = [attribute_column(ident.key)]
        else:
            table = {"metric": s.latest_metrics, "param": s.params, "tag": s.tags}[ident.kind]
            t = table.alias(f"order_{i}")
            source = source.outerjoin(t, and_(t.c.run_id == s.runs.c.id, t.c.key == ident.key))
            if ident.kind == "metric":
                keys = [
                    {"latest": t.c.value, "min": t.c.min_value, "max": t.c.max_value}[ident.agg]
                ]
            else:  # numbers by value first, then the rest as text
                keys = [as_number(t.c.value), t.c.value]
        for key in keys:
            clauses.append((key.desc() if descending else key.asc()).nulls_last())
    clauses.append(s.runs.c.id.asc())
    return query.select_from(source).order_by(*clauses)
