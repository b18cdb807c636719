"""Large lists, tuples, dicts and sets (more than ``BIG`` items) hashed in chunks, reusing the
digests of chunks that did not change since the last cell (hash scheme 2).

A list or tuple is cut into chunks of ``CHUNK`` items by position; its digest is the xxh3_128 of
the chunk digests in order. A chunk of plain values (int, float, complex, str, bytes, bool, None
and tuples of them, nested at most ``TUPLE_DEPTH`` deep, exact types only) is serialised at C
speed: homogeneous int/float/str runs as the encoder's packed arrays, anything else with
``marshal`` version 0, which writes no references, no interning flags and floats by ``repr``
(so every NaN alike, ``-0.0`` apart from ``0.0``, ``True`` apart from ``1``). Other chunks go
through the canonical encoder. A dict or set is the *sum* (mod 2**128) of one digest per entry,
so its digest does not depend on insertion order (large dicts: ``dicts``).

Reuse across cells (``ChunkCache``, owned by the ``StateHasher``) needs proof that a chunk holds
the very same objects: the cache keeps strong references to every object it hashed (so no
address is reused) and compares the container's pointer array (a list's ``ob_item``, a dict's
entry table, read with ctypes after a self-check of the layout: ``layout``) with the saved one.
Only chunks of plain values, which are immutable all the way down, are reused. Without the
layout (another interpreter) nothing is reused: every chunk is hashed, still fast.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from typing import Any

from nbtrack.capture.canonical import encoder
from nbtrack.capture.canonical.chunks import (
    BIG,
    CHUNK,
    MASK,
    TUPLE_DEPTH,
    ChunkCache,
    check,
    chunk_digest,
    element_sum,
    saving,
)
from nbtrack.capture.canonical.dicts import mapping_digest
from nbtrack.capture.canonical.encoder import Encoder, Handler, mutable, u64
from nbtrack.capture.canonical.layout import LIST_LAYOUT, PTR, list_items_address, memory_digest

__all__ = ["BIG", "CHUNK", "TUPLE_DEPTH", "HANDLERS", "mapping_digest", "sequence_digest"]


def _same_items(live: list[Any], snap: list[Any], start: int, stop: int) -> bool:
    """``live[start:stop]`` holds the very objects of ``snap[start:stop]``."""
    if LIST_LAYOUT:
        n = (stop - start) * PTR
        a = list_items_address(live) + start * PTR
        b = list_items_address(snap) + start * PTR
        return memory_digest(a, n) == memory_digest(b, n)
    return all(map(operator.is_, live[start:stop], snap[start:stop]))


# ---------------------------------------------------------------- the cache across cells


class _Seq:
    __slots__ = ("obj", "snap", "digests", "reusable")

    def __init__(self, obj: Any, snap: Any, digests: list[bytes], reusable: list[bool]) -> None:
        self.obj, self.snap, self.digests, self.reusable = obj, snap, digests, reusable


def sequence_digest(enc: Encoder, obj: list[Any] | tuple[Any, ...]) -> bytes:
    """Digest of a large list or tuple, chunk by chunk, reusing unchanged chunks."""
    cache: ChunkCache | None = enc.chunks
    n = len(obj)
    old = cache.get(obj) if cache is not None else None
    is_list = type(obj) is list
    digests: list[bytes] = []
    reusable: list[bool] = []
    if is_list and old is not None:
        snap = old.snap
        same_prefix = len(snap) <= n and _same_items(obj, snap, 0, len(snap))  # type: ignore[arg-type]
    try:
        for c, start in enumerate(range(0, n, CHUNK)):
            stop = min(start + CHUNK, n)
            if old is not None and c < len(old.digests) and old.reusable[c]:
                if not is_list:
                    digests.append(old.digests[c])  # a tuple cannot change
                    reusable.append(True)
                    continue
                if min(start + CHUNK, len(old.snap)) == stop and (
                    same_prefix or _same_items(obj, old.snap, start, stop)  # type: ignore[arg-type]
                ):
                    digests.append(old.digests[c])
                    reusable.append(True)
                    continue
            check(enc)
            d, ok = chunk_digest(enc, obj[start:stop])
            digests.append(d)
            reusable.append(ok)
            if cache is not None:
                cache.digested += stop - start
    except BaseException:
        if cache is not None:  # keep what was done: the next cell goes on from there
            missing = (n + CHUNK - 1) // CHUNK - len(digests)
            with saving(enc):
                _save_sequence(
                    cache, obj, old, digests + [b""] * missing, reusable + [False] * missing
                )
        raise
    if cache is not None:
        _save_sequence(cache, obj, old, digests, reusable)
    return u64(n) + b"".join(digests)


def _save_sequence(
    cache: ChunkCache, obj: Any, old: _Seq | None, digests: list[bytes], reusable: list[bool]
) -> None:
    cache.seen.add(id(obj))
    if not any(reusable):
        cache.entries.pop(id(obj), None)
        return
    n = len(obj)
    if type(obj) is not list:
        snap = obj
    elif old is not None and len(old.snap) <= n:
        snap = old.snap
        for c in range(len(digests)):  # refresh only what was hashed again
            if c >= len(old.digests) or old.digests[c] is not digests[c]:
                snap[c * CHUNK : (c + 1) * CHUNK] = obj[c * CHUNK : (c + 1) * CHUNK]
        del snap[n:]
    else:
        snap = list(obj)
    cache.entries[id(obj)] = _Seq(obj, snap, digests, reusable)


def set_digest(enc: Encoder, obj: Iterable[Any], n: int) -> bytes:
    elems = list(obj)
    total = 0
    for start in range(0, n, CHUNK):
        check(enc)
        total += element_sum(enc, elems[start : start + CHUNK])
    return u64(n) + (total & MASK).to_bytes(16, "little")


# ---------------------------------------------------------------- handlers (scheme 2 above BIG)


@mutable
def _list(enc: Encoder, obj: list[Any]) -> Any:
    if len(obj) <= BIG:
        return encoder._list(enc, obj)
    return b"#biglist\0" + sequence_digest(enc, obj)


def _tuple(enc: Encoder, obj: tuple[Any, ...]) -> Any:
    if len(obj) <= BIG:
        return encoder._tuple(enc, obj)
    return b"#bigtuple\0" + sequence_digest(enc, obj)


@mutable
def _dict(enc: Encoder, obj: dict[Any, Any]) -> Any:
    if len(obj) <= BIG:
        return encoder._dict(enc, obj)
    return b"#bigdict\0" + mapping_digest(enc, obj)


@mutable
def _set(enc: Encoder, obj: set[Any]) -> Any:
    if len(obj) <= BIG:
        return encoder._set(enc, obj)
    return b"#bigset\0" + set_digest(enc, obj, len(obj))


def _frozenset(enc: Encoder, obj: frozenset[Any]) -> Any:
    if len(obj) <= BIG:
        return encoder._frozenset(enc, obj)
    return b"#bigfrozenset\0" + set_digest(enc, obj, len(obj))


HANDLERS: dict[type, Handler] = {
    list: _list,
    tuple: _tuple,
    dict: _dict,
    set: _set,
    frozenset: _frozenset,
}
