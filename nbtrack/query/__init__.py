"""The search filter language: MLflow's ``search_runs`` grammar and more, compiled to parameterised SQL.

>>> from sqlalchemy import select
>>> from nbtrack.store import schema
>>> clause = compile_filter("metrics.acc > 0.9 AND params.model = 'rf'")
>>> query = select(schema.runs.c.id).where(clause)

The language is described in docs/query-language.md. Every value in a filter is a bound
parameter; errors are :class:`~nbtrack.errors.QueryError` pointing at the bad token.
"""

from __future__ import annotations

from sqlalchemy.sql.expression import ColumnElement

from nbtrack.errors import QueryError
from nbtrack.query.compiler import compile_node
from nbtrack.query.nodes import BoolOp, Compare, Ident, Node, Not
from nbtrack.query.ordering import DEFAULT_ORDER, parse_order_by
from nbtrack.query.paging import decode_page_token, encode_page_token, fingerprint
from nbtrack.query.parser import parse
from nbtrack.query.plan import Plan, plan_search

__all__ = [
    "DEFAULT_ORDER",
    "BoolOp",
    "Compare",
    "Ident",
    "Node",
    "Not",
    "Plan",
    "QueryError",
    "compile_filter",
    "decode_page_token",
    "encode_page_token",
    "fingerprint",
    "parse",
    "parse_order_by",
    "plan_search",
]


def compile_filter(text: str | None) -> ColumnElement[bool]:
    """A boolean clause over the ``runs`` table for ``select(runs).where(clause)``; TRUE when empty."""
    return compile_node(parse(text) if text else None)
