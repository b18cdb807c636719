"""Large lists, tuples, dicts and sets (more than ``BIG`` items) hashed in chunks, reusing the
digests of chunks that did not change since the last cell (hash scheme 2).

A list or tuple is cut into chunks of ``CHUNK`` items by position; its digest is the xxh3_128 of
the chunk digests in order. A chunk of plain values (int, float, complex, str, bytes, bool, None
and tuples of them, nested at most ``TUPLE_DEPTH`` deep, exact types only) is serialised at C
speed: homogeneous int/float/str runs as the encoder's packed arrays, anything else with
``marshal`` version 0, which writes no references, no interning flags and floats by ``repr``
(so every NaN alike, ``-0.0`` apart from ``0.0``, ``True`` apart from ``1``). Other chunks go
through the canonical encoder. A dict or set is the *sum* (mod 2**128) of one digest per entry,
so its digest does not depend on insertion order, and a chunk of entries contributes its sum.

Reuse across cells (``ChunkCache``, owned by the ``StateHasher``) needs proof that a chunk holds
the very same objects: the cache keeps strong references to every object it hashed (so no
address is reused) and compares the container's pointer array (a list's ``ob_item``, a dict's
entry table, read with ctypes after a self-check of the layout) with the saved one. Only chunks
of plain values, which are immutable all the way down, are reused. Without the layout (another
interpreter) nothing is reused: every chunk is hashed, still fast.
"""

from __future__ import annotations

import contextlib
import ctypes
import marshal
import operator
import sys
from array import array
from collections.abc import Iterable, Iterator
from itertools import chain, islice, repeat
from typing import Any

from xxhash import xxh3_128_digest, xxh3_128_intdigest

from nbtrack.capture.canonical import encoder
from nbtrack.capture.canonical.encoder import Encoder, Handler, _fast_items, mutable, u64

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


def element_sum(enc: Encoder, elems: list[Any]) -> int:
    """Sum of the digests of a set's elements."""
    if plain(elems):
        return sum(map(xxh3_128_intdigest, map(marshal.dumps, elems, repeat(0))))
    tok, total = enc.token, 0
    for x in elems:
        total += xxh3_128_intdigest(marshal.dumps(x, 0) if plain([x]) else b"o" + tok(x))
    return total


# ---------------------------------------------------------------- CPython layouts, self-checked

_PTR = ctypes.sizeof(ctypes.c_void_p)


def _list_items_address(lst: list[Any]) -> int:
    return ctypes.c_void_p.from_address(id(lst) + 3 * _PTR).value or 0


def _check_list_layout() -> bool:
    a, b = object(), object()
    probe = [a, b]
    try:
        addr = _list_items_address(probe)
        return bool(addr) and ctypes.string_at(addr, 2 * _PTR) == (
            id(a).to_bytes(_PTR, sys.byteorder) + id(b).to_bytes(_PTR, sys.byteorder)
        )
    except Exception:
        return False


def _dict_table(d: dict[Any, Any]) -> tuple[int, int, int] | None:
    """(address of the entry table, number of entries incl. deleted, entry size), CPython 3.11+."""
    if sys.version_info < (3, 11):
        return None
    base = id(d)
    keys = ctypes.c_void_p.from_address(base + 4 * _PTR).value
    values = ctypes.c_void_p.from_address(base + 5 * _PTR).value
    if not keys or values:  # split tables (instance dicts) are not read
        return None
    log2_index_bytes = ctypes.c_uint8.from_address(keys + _PTR + 1).value
    kind = ctypes.c_uint8.from_address(keys + _PTR + 2).value
    nentries = ctypes.c_ssize_t.from_address(keys + 3 * _PTR).value
    entries = keys + 4 * _PTR + (1 << log2_index_bytes)
    return entries, nentries, (3 if kind == 0 else 2) * _PTR


def _check_dict_layout() -> bool:
    try:
        for d in ({"a": object(), "b": object()}, {1: object(), (2,): object()}):
            table = _dict_table(d)
            if table is None:
                return False
            entries, n, size = table
            if n != 2:
                return False
            for i, (k, v) in enumerate(d.items()):
                raw = ctypes.string_at(entries + i * size + size - 2 * _PTR, 2 * _PTR)
                if raw != id(k).to_bytes(_PTR, sys.byteorder) + id(v).to_bytes(_PTR, sys.byteorder):
                    return False
        return True
    except Exception:
        return False


LIST_LAYOUT = _check_list_layout()
DICT_LAYOUT = _check_dict_layout()


def _memory_digest(address: int, nbytes: int) -> bytes:
    return xxh3_128_digest((ctypes.c_char * nbytes).from_address(address))


def _same_items(live: list[Any], snap: list[Any], start: int, stop: int) -> bool:
    """``live[start:stop]`` holds the very objects of ``snap[start:stop]``."""
    if LIST_LAYOUT:
        n = (stop - start) * _PTR
        a = _list_items_address(live) + start * _PTR
        b = _list_items_address(snap) + start * _PTR
        return _memory_digest(a, n) == _memory_digest(b, n)
    return all(map(operator.is_, live[start:stop], snap[start:stop]))


# ---------------------------------------------------------------- the cache across cells


class _Seq:
    __slots__ = ("obj", "snap", "digests", "reusable")

    def __init__(self, obj: Any, snap: Any, digests: list[bytes], reusable: list[bool]) -> None:
        self.obj, self.snap, self.digests, self.reusable = obj, snap, digests, reusable


class _Map:
    __slots__ = ("obj", "keep", "keys", "raw", "sums", "reusable")

    def __init__(self, obj: Any) -> None:
        self.obj = obj
        self.keep: dict[Any, Any] = {}  # keeps every hashed key and value alive
        self.keys: list[Any] | None = None  # the keys by position, while the table has no holes
        self.raw: list[bytes] = []
        self.sums: list[int] = []
        self.reusable: list[bool] = []


class ChunkCache:
    """Chunk digests of the large containers met in the last cells, by id (held strongly)."""

    def __init__(self) -> None:
        self.entries: dict[int, Any] = {}
        self.seen: set[int] = set()

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
def _saving(enc: Encoder) -> Iterator[None]:
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


def _check(enc: Encoder) -> None:
    budget = enc.budget
    if budget is not None:
        budget.check()


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
            _check(enc)
            d, ok = chunk_digest(enc, obj[start:stop])
            digests.append(d)
            reusable.append(ok)
    except BaseException:
        if cache is not None:  # keep what was done: the next cell goes on from there
            missing = (n + CHUNK - 1) // CHUNK - len(digests)
            with _saving(enc):
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


def mapping_digest(enc: Encoder, obj: dict[Any, Any]) -> bytes:
    """Order-independent digest of a large dict: the sum of its entries' digests, by chunks of
    its entry table, each reused while that part of the table holds the very same objects."""
    cache: ChunkCache | None = enc.chunks
    n = len(obj)
    table = _dict_table(obj) if DICT_LAYOUT and type(obj) is dict and cache is not None else None
    if table is None or cache is None:
        return u64(n) + (_plain_sum(enc, list(obj.items())) & MASK).to_bytes(16, "little")
    entries, nentries, size = table
    old: _Map | None = cache.get(obj)
    new = _Map(obj)
    if nentries != n:  # deleted entries leave holes: count the live ones per chunk
        words = array("Q", ctypes.string_at(entries, nentries * size))
        step = size // _PTR
        key_words = words[step - 2 :: step]
    position = 0  # live entries before the current chunk
    changed = []
    for c, start in enumerate(range(0, nentries, CHUNK)):
        stop = min(start + CHUNK, nentries)
        live = stop - start if nentries == n else (stop - start) - key_words[start:stop].count(0)
        fingerprint = _memory_digest(entries + start * size, (stop - start) * size)
        new.raw.append(fingerprint)
        if old is not None and c < len(old.raw) and old.reusable[c] and old.raw[c] == fingerprint:
            new.sums.append(old.sums[c])
            new.reusable.append(True)
        else:
            new.sums.append(0)
            new.reusable.append(False)
            changed.append((c, position, live))
        position += live
    if position != n:  # the table did not read as expected
        cache.entries.pop(id(obj), None)
        return u64(n) + (_plain_sum(enc, list(obj.items())) & MASK).to_bytes(16, "little")
    new.keep = old.keep if old is not None else {}
    holes = nentries != n
    keys = old.keys if old is not None and not holes else None
    items = _Items(obj, n, keys, entries, size, sequential=len(changed) > 8)
    fresh: list[tuple[Any, Any]] = []
    done = 0
    try:
        for c, first, live in changed:
            _check(enc)
            pairs = items.at(first, live, c * CHUNK)
            s, ok = entry_sum(enc, pairs)
            new.sums[c], new.reusable[c] = s, ok
            if ok:
                fresh += pairs
            if keys is not None and not items.from_keys:
                keys[first : first + live] = [k for k, _ in pairs]
            done += 1
    finally:  # also when past the budget: the next cell goes on from there
        with _saving(enc):
            if holes or done < len(changed):
                new.keys = None
            elif keys is not None:
                del keys[n:]
                new.keys = keys
            else:
                new.keys = list(obj)
            _save_map(cache, obj, old, new, fresh, n)
    return u64(n) + (sum(new.sums) & MASK).to_bytes(16, "little")


def _save_map(
    cache: ChunkCache, obj: Any, old: _Map | None, new: _Map, fresh: list[Any], n: int
) -> None:
    if old is None or len(new.keep) + len(fresh) > 2 * n + CHUNK:
        new.keep = dict(obj)  # keeps every hashed key and value alive: no address is reused
    else:
        new.keep.update(fresh)
    cache.seen.add(id(obj))
    cache.entries[id(obj)] = new


class _Items:
    """A dict's items by position: through the keys kept from the last cell when the table
    still holds them there (checked by pointer), else by one walk for consecutive chunks."""

    def __init__(
        self,
        d: dict[Any, Any],
        n: int,
        keys: list[Any] | None,
        entries: int,
        size: int,
        sequential: bool,
    ) -> None:
        self.d, self.n, self.keys, self.entries, self.size = d, n, keys, entries, size
        self.sequential = sequential  # many chunks: one forward walk, never a walk per chunk
        self.it: Iterator[tuple[Any, Any]] | None = None
        self.pos = 0
        self.from_keys = False  # the last chunk came through the kept keys

    def at(self, first: int, count: int, entry: int) -> list[tuple[Any, Any]]:
        keys = self.keys
        self.from_keys = False
        if keys is not None and first + count <= len(keys) and first == entry:
            ks = keys[first : first + count]
            step = self.size // _PTR
            words = array(
                "Q", ctypes.string_at(self.entries + entry * self.size, count * self.size)
            )
            if words[step - 2 :: step] == array("Q", map(id, ks)):
                self.from_keys = True
                return list(zip(ks, map(self.d.__getitem__, ks), strict=True))
        ahead = first - self.pos
        if (
            self.it is None
            or ahead < 0
            or (not self.sequential and ahead > min(first, self.n - first - count))
        ):
            if first > self.n - first - count and not self.sequential:
                return _items_at(self.d, first, count, self.n)
            self.it, self.pos, ahead = iter(self.d.items()), 0, first
        if ahead:
            next(islice(self.it, ahead, ahead), None)
        self.pos = first + count
        return list(islice(self.it, count))


def _plain_sum(enc: Encoder, items: list[tuple[Any, Any]]) -> int:
    total = 0
    for start in range(0, len(items), CHUNK):
        _check(enc)
        total += entry_sum(enc, items[start : start + CHUNK])[0]
    return total


def _items_at(d: dict[Any, Any], first: int, count: int, n: int) -> list[tuple[Any, Any]]:
    """Items ``first .. first + count`` in iteration order, walked from the nearer end."""
    if first <= n - first - count:
        return list(islice(d.items(), first, first + count))
    tail = list(islice(reversed(d.items()), n - first - count, n - first))
    tail.reverse()
    return tail


def set_digest(enc: Encoder, obj: Iterable[Any], n: int) -> bytes:
    elems = list(obj)
    total = 0
    for start in range(0, n, CHUNK):
        _check(enc)
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
