"""Three SQL constructs that differ between SQLite and PostgreSQL, compiled per dialect.

``as_number(text)`` is the number a text value spells (NULL when it spells none), so
``params.lr > 0.001`` compares numerically without failing on non-numeric values.
``like(col, pattern, case_sensitive)`` is LIKE without an escape character in both engines:
case-sensitive LIKE is GLOB on SQLite (whose LIKE ignores ASCII case). The user's pattern is
always a bound parameter; the GLOB form binds a translated copy of it.
``millis(seconds)`` is a time in whole UNIX milliseconds, rounded half up as
:func:`nbtrack.query.jsonsafe.millis` rounds it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Float, bindparam
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement
from sqlalchemy.types import NullType

_PG_NUMBER = r"^\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$"


class as_number(FunctionElement[float]):
    type = Float()
    name = "as_number"
    inherit_cache = True


@compiles(as_number, "sqlite")
def _as_number_sqlite(element: as_number, compiler: Any, **kw: Any) -> str:
    arg = compiler.process(element.clauses, **kw)
    # digits, dot, sign and exponent only, with at least one digit: what CAST reads fully
    return (
        f"CASE WHEN {arg} GLOB '*[0-9]*' AND {arg} NOT GLOB '*[^0-9eE.+-]*' "
        f"THEN CAST({arg} AS REAL) END"
    )


@compiles(as_number)
def _as_number_default(element: as_number, compiler: Any, **kw: Any) -> str:
    arg = compiler.process(element.clauses, **kw)
    return f"CASE WHEN {arg} ~ '{_PG_NUMBER}' THEN CAST({arg} AS DOUBLE PRECISION) END"


class millis(FunctionElement[int]):
    type = BigInteger()
    name = "millis"
    inherit_cache = True


@compiles(millis, "sqlite")
def _millis_sqlite(element: millis, compiler: Any, **kw: Any) -> str:
    arg = compiler.process(element.clauses, **kw)
    return f"CAST({arg} * 1000 + 0.5 AS INTEGER)"  # times are positive: CAST truncates = floor


@compiles(millis)
def _millis_default(element: millis, compiler: Any, **kw: Any) -> str:
    arg = compiler.process(element.clauses, **kw)
    return f"CAST(FLOOR({arg} * 1000 + 0.5) AS BIGINT)"


class _Like(FunctionElement[bool]):
    """``col LIKE pattern``, case-sensitive; args (col, like pattern, glob pattern)."""

    type = NullType()  # type: ignore[assignment]  # not Boolean: SQLite would get "(... GLOB ?) = 1", which defeats the index
    name = "nbtrack_like"
    inherit_cache = True


class _ILike(_Like):
    """``col ILIKE pattern``; args (col, like pattern, glob pattern)."""

    name = "nbtrack_ilike"
    inherit_cache = True


@compiles(_Like, "sqlite")
def _like_sqlite(element: _Like, compiler: Any, **kw: Any) -> str:
    col, pattern, glob = (compiler.process(c, **kw) for c in element.clauses)
    if isinstance(element, _ILike):
        return f"({col} LIKE {pattern})"  # SQLite's LIKE ignores ASCII case
    return f"({col} GLOB {glob})"


@compiles(_Like)
def _like_default(element: _Like, compiler: Any, **kw: Any) -> str:
    clauses = list(element.clauses)
    col, pattern = compiler.process(clauses[0], **kw), compiler.process(clauses[1], **kw)
    op = "ILIKE" if isinstance(element, _ILike) else "LIKE"
    return f"({col} {op} {pattern} ESCAPE '')"


def like(col: ColumnElement[Any], pattern: str, case_sensitive: bool) -> ColumnElement[bool]:
    """``col LIKE pattern`` (``%`` any text, ``_`` one character), or ILIKE when not case-sensitive."""
    cls = _Like if case_sensitive else _ILike
    return cls(
        col,
        bindparam(None, pattern, unique=True),
        bindparam(None, like_to_glob(pattern), unique=True),
    )


def like_to_glob(pattern: str) -> str:
    out = []
    for ch in pattern:
        if ch == "%":
            out.append("*")
        elif ch == "_":
            out.append("?")
        elif ch in "*?[":
            out.append(f"[{ch}]")
        else:
            out.append(ch)
    return "".join(out)
