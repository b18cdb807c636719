"""What every large container hashed in chunks needs (see ``containers``): which values are
plain, the digests of a chunk, of dict entries and of set elements, and the cache that keeps
them across cells, with the budget's checks between chunks."""

from __future__ import annotations

import contextlib
import marshal
import sys
from collections.abc import Iterator
from itertools import chain, repeat
from typing import Any

from xxhash import xxh3_128_digest, xxh3_128_intdigest

from nbtrack.capture.canonical.encoder import Encoder, _fast_items, u64

BIG = 4096
"""Containers with more items than this take the chunked path."""
CHUNK = 4096
TUPLE_DEPTH = 4
MASK = (1 << 128) - 1
SCALARS = frozenset({int, float, complex, str, bytes, bool, type(None)})
_SCALARS_T = SCALARS | {tuple}


def plain(items: list[Any] | tuple[Any, ...], depth: int = 0) -> bool:
    """Every item a plain value (exact scalar types, tuples of them), checked at C speed."""
    kinds = set(map(type, items))
    if kinds <= SCALARS:
        return True
    if tuple not in kinds or not kinds <= _SCALARS_T or depth >= TUPLE_DEPTH:
        return False
    tuples = items if len(kinds) == 1 else [x for x in items if type(x) is tuple]
    return plain(list(chain.from_iterable(tuples)), depth + 1)


def _plain_bytes(items: list[Any] | tuple[Any, ...]) -> bytes:
    fast = _fast_items(items, len(items))
    return b"a" + fast if fast is not None else b"m" + marshal.dumps(list(items), 0)


def chunk_digest(enc: Encoder, items: list[Any] | tuple[Any, ...]) -> tuple[bytes, bool]:
    """(digest of a chunk of a sequence, whether it is plain and so reusable)."""
    if plain(items):
        return xxh3_128_digest(_plain_bytes(items)), True
    return xxh3_128_digest(b"o" + u64(len(items)) + enc._tokens(items)), False


def entry_sum(enc: Encoder, pairs: list[tuple[Any, Any]]) -> tuple[int, bool]:
    """(sum of the digests of (key, value) pairs, all plain)."""
    if plain(pairs):
        return sum(map(xxh3_128_intdigest, map(marshal.dumps, pairs, repeat(0)))), True
    tok, total = enc.token, 0
    for pair in pairs:
        if plain([pair]):
            total += xxh3_128_intdigest(marshal.dumps(pair, 0))
        else:
            total += xxh3_128_intdigest(b"o" + tok(pair[0]) + tok(pair[1]))
    return total, False


def pair_digest(pair: tuple[Any, Any]) -> int:
    """The digest of one plain (key, value) pair, as ``entry_sum`` counts it."""
    return xxh3_128_intdigest(marshal.dumps(pair, 0))


def element_sum(enc: Encoder, elems: list[Any]) -> int:
    """Sum of the digests of a set's elements."""
    if plain(elems):
        return sum(map(xxh3_128_intdigest, map(marshal.dumps, elems, repeat(0))))
    tok, total = enc.token, 0
    for x in elems:
        total += xxh3_128_intdigest(marshal.dumps(x, 0) if plain([x]) else b"o" + tok(x))
    return total


class ChunkCache:
    """Chunk digests of the large containers met in the last cells, by id (held strongly)."""

    def __init__(self) -> None:
        self.entries: dict[int, Any] = {}
        self.seen: set[int] = set()
        self.digested = 0  # items of large lists, tuples and dicts digested afresh by this call
        self.scanned = 0  # ... and entries of dict tables whose memory it read

    def start(self) -> None:
        """A new call (a namespace hashed after a cell) begins."""
        self.seen = set()
        self.digested = self.scanned = 0

    def get(self, obj: object) -> Any:
        e = self.entries.get(id(obj))
        return e if e is not None and e.obj is obj else None

    def prune(self) -> None:
        """Drop the containers only this cache still holds (met in this call or not)."""
        self.entries = {
            k: e
            for k, e in self.entries.items()
            if sys.getrefcount(e.obj) > 3 or (k in self.seen and sys.getrefcount(e.obj) > 2)
        }


@contextlib.contextmanager
def saving(enc: Encoder) -> Iterator[None]:
    """Bookkeeping the budget's alarm must not cut in half (it then only marks the budget spent)."""
    budget = enc.budget
    inside = budget is not None and budget.inside
    if inside:
        budget.inside = False
    try:
        yield
    finally:
        if inside:
            budget.inside = True


def check(enc: Encoder) -> None:
    budget = enc.budget
    if budget is not None:
        budget.check()
