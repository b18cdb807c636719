"""The tree a filter is parsed into, and how an identifier is written back as text."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Union

DISPLAY_PREFIX = {
    "metric": "metrics.",
    "param": "params.",
    "tag": "tags.",
    "attr": "attributes.",
    "cell": "cells.",
    "dataset": "datasets.",
}
_BARE_KEY = re.compile(r"[\w\-./:]+")


def quote_key(key: str) -> str:
    """A key as the filter language spells it: bare, or in backquotes when it must be."""
    return key if _BARE_KEY.fullmatch(key) else "`" + key.replace("`", "``") + "`"


@dataclass(frozen=True)
class Ident:
    """A column: ``kind`` metric | param | tag | attr | cell; ``key`` the key, attribute or cell field."""

    kind: str
    key: str
    agg: str = "latest"  # metrics: latest | min | max
    pos: int = 0
    end: int = 0

    def __str__(self) -> str:
        name = f"{DISPLAY_PREFIX[self.kind]}{quote_key(self.key)}"
        return (
            name if self.agg == "latest" or self.kind != "metric" else f"{self.agg.upper()}({name})"
        )


@dataclass(frozen=True)
class Millis:
    """A time given as UNIX milliseconds (as MLflow takes it): compared with the run's time in
    whole milliseconds (:func:`nbtrack.query.jsonsafe.millis`), not in seconds."""

    value: int | float


@dataclass(frozen=True)
class Compare:
    """``ident op values``; op is a comparison, [NOT] LIKE/ILIKE, [NOT] IN, IS [NOT] NULL, or
    CONTAINS (a name search's term: the text anywhere in the value, ignoring case).

    ``values`` are checked and converted: numbers, strings, booleans; times as :class:`Millis`
    when given as a number, as UNIX seconds when given as an ISO date-time, and a bare date as a
    ``(start, end)`` pair of seconds covering that day.
    """

    ident: Ident
    op: str
    values: tuple[Any, ...] = ()


@dataclass(frozen=True)
class BoolOp:
    op: str  # AND | OR
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


Node = Union[Compare, BoolOp, Not]  # noqa: UP007 (a runtime alias; py3.10 needs Union here)
