"""Large dicts (more than ``BIG`` entries) hashed by chunks of CPython's entry table; a cell that
updates a few entries costs one read of the table's memory and the digests of those entries.

A dict's digest is the sum (mod 2**128) of one digest per (key, value) pair (``chunks``), so it
does not depend on insertion order; the sum is kept per chunk of ``CHUNK`` table entries. After
a cell, a chunk whose memory (the keys' and values' addresses) reads as at the last cell holds
the very same objects and keeps its sum: ``_Map`` holds every key and value it hashed, by entry
index, so no address is reused. A chunk that reads otherwise is compared entry by entry with the
objects held: a value replaced, an entry deleted or appended changes the chunk's sum by the
digests of those entries alone. A chunk holding anything but plain values, one with many changed
entries and a table rebuilt under it (a compaction after deletions) are hashed again whole. A
dict of plain values whose version tag (PEP 509: moved by every change) is as at the last cell
is not read at all (a cell that only reads it). Without the layout (another interpreter), the
dict is hashed whole, still at C speed.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from itertools import islice
from operator import itemgetter
from typing import Any

from nbtrack.capture.canonical.chunks import (
    CHUNK,
    MASK,
    ChunkCache,
    check,
    entry_sum,
    pair_digest,
    plain,
    saving,
)
from nbtrack.capture.canonical.encoder import Encoder, u64
from nbtrack.capture.canonical.layout import (
    DICT_LAYOUT,
    DICT_VERSION,
    PTR,
    addresses,
    dict_table,
    dict_version,
    entry_words,
    keys_pointer,
    memory_digest,
)

_HOLE = object()
"""A deleted entry, in the objects ``_Map`` holds by entry index."""
_HOLE_ID = id(_HOLE)
_first, _second = itemgetter(0), itemgetter(1)
_NONE: array[int] = array("Q")
FEW = CHUNK // 4
"""Changed entries in a chunk past which it is hashed again whole."""

Found = tuple[int, bool, list[Any], list[Any], "array[int]", "array[int]", int, int]
"""A chunk hashed: (sum, plain, keys and values by entry index, their addresses, live entries,
pairs digested)."""


class _Mismatch(Exception):
    """The table did not read as the dict's items (another thread changed the dict meanwhile)."""


class _Map:
    """What the last hashing of one large dict found, per chunk of its entry table: the digest
    of the chunk's memory (``b""``: to hash again), its sum, whether it holds plain values only
    (``reusable``), its live entries and the addresses of its keys and values; and every key
    and value by entry index, which keeps them alive."""

    __slots__ = ("obj", "raw", "sums", "reusable", "live", "kw", "vw", "keys", "vals", "version")

    def __init__(self, obj: dict[Any, Any]) -> None:
        self.obj = obj
        self.raw: list[bytes] = []
        self.sums: list[int] = []
        self.reusable: list[bool] = []
        self.live: list[int] = []
        self.kw: list[array[int]] = []  # the keys' and values' addresses (0: deleted)
        self.vw: list[array[int]] = []
        self.keys: list[Any] = []
        self.vals: list[Any] = []
        self.version: int | None = None  # the dict's version tag when all of it was known plain


def mapping_digest(enc: Encoder, obj: dict[Any, Any]) -> bytes:
    """Order-independent digest of a large dict, reusing what the last cells found."""
    cache = enc.chunks
    n = len(obj)
    table = dict_table(obj) if DICT_LAYOUT and type(obj) is dict and cache is not None else None
    if table is None or cache is None:
        return _whole(enc, obj, n)
    entries, nentries, size = table
    m = cache.get(obj)
    version = dict_version(obj) if DICT_VERSION else None
    if m is not None and version is not None and m.version == version:
        cache.seen.add(id(obj))  # not changed since (a cell that only read it): no table read
        return u64(n) + (sum(m.sums) & MASK).to_bytes(16, "little")
    with saving(enc):
        if m is None or not _whole_map(m):
            m = _Map(obj)
        m.version = None
        cache.seen.add(id(obj))
        cache.entries[id(obj)] = m
        _resize(m, nentries)
    try:
        changed, live = _changed_chunks(obj, m, table, cache)
        if live != n:
            raise _Mismatch
        walk = _Walk(obj, n, sequential=len(changed) > 8)
        for c, start, fp, kw, vw, position in changed:
            check(enc)
            found = _delta(m, obj, walk, c, start, kw, vw, position) if m.reusable[c] else None
            if found is None:
                found = _whole_chunk(enc, m, obj, walk, c, start, kw, vw, position)
            with saving(enc):
                _commit(m, c, start, fp, found)
                cache.digested += found[7]
    except _Mismatch:
        with saving(enc):
            cache.entries.pop(id(obj), None)
        return _whole(enc, obj, n)
    if all(m.reusable):  # plain values all through: unchanged while its version tag is
        m.version = version
    return u64(n) + (sum(m.sums) & MASK).to_bytes(16, "little")


def _whole(enc: Encoder, obj: dict[Any, Any], n: int) -> bytes:
    items = list(obj.items())
    total = 0
    for start in range(0, len(items), CHUNK):
        check(enc)
        total += entry_sum(enc, items[start : start + CHUNK])[0]
    return u64(n) + (total & MASK).to_bytes(16, "little")


def _whole_map(m: _Map) -> bool:
    """One slot per chunk in every list of ``m`` (an interrupt can cut ``_resize`` half way)."""
    return len(m.raw) == len(m.sums) == len(m.reusable) == len(m.live) == len(m.kw) == len(m.vw)


def _resize(m: _Map, nentries: int) -> None:
    """One slot per chunk of a table of ``nentries``; entries gone from its end (``popitem``,
    ``clear``) leave their chunks to be hashed again whole."""
    if len(m.keys) > nentries:
        for c in range(nentries // CHUNK, len(m.raw)):
            m.raw[c], m.reusable[c] = b"", False
        del m.keys[nentries:], m.vals[nentries:]
    chunks = -(-nentries // CHUNK)
    extra = chunks - len(m.raw)
    if extra > 0:
        m.raw += [b""] * extra
        m.sums += [0] * extra
        m.reusable += [False] * extra
        m.live += [0] * extra
        m.kw += [_NONE] * extra
        m.vw += [_NONE] * extra
    elif extra < 0:
        del m.raw[chunks:], m.sums[chunks:], m.reusable[chunks:], m.live[chunks:]
        del m.kw[chunks:], m.vw[chunks:]


def _changed_chunks(
    obj: dict[Any, Any], m: _Map, table: tuple[int, int, int], cache: ChunkCache
) -> tuple[list[tuple[int, int, bytes, array[int], array[int], int]], int]:
    """The chunks whose memory differs from the last cell's: (chunk, first entry, digest of its
    memory, its keys' and values' addresses, live entries before it); and the live entries."""
    entries, nentries, size = table
    step = size // PTR
    out = []
    position = 0  # live entries before the chunk
    raw, reusable, live = m.raw, m.reusable, m.live
    pointer = keys_pointer(obj)
    keys_object = pointer.value
    cache.scanned += nentries
    for c in range(len(raw)):
        start = c * CHUNK
        address, nbytes = entries + start * size, (min(start + CHUNK, nentries) - start) * size
        if pointer.value != keys_object:
            raise _Mismatch  # resized meanwhile (another thread): never read freed memory
        if reusable[c] and raw[c] == memory_digest(address, nbytes):
            position += live[c]
            continue
        fp, words = entry_words(address, nbytes)
        kw, vw = words[step - 2 :: step], words[step - 1 :: step]
        out.append((c, start, fp, kw, vw, position))
        position += len(kw) - kw.count(0)
    return out, position


def _delta(
    m: _Map,
    obj: dict[Any, Any],
    walk: _Walk,
    c: int,
    start: int,
    kw: array[int],
    vw: array[int],
    position: int,
) -> Found | None:
    """A chunk of plain values whose changed entries are few: its sum corrected by theirs
    (None: hash it whole)."""
    okw, ovw = m.kw[c], m.vw[c]  # as at the last cell
    known = len(okw)
    if start + known > len(m.keys) or len(kw) < known:
        return None
    diff: list[int] = []
    if not (_differing(kw, okw, 0, known, diff) and _differing(vw, ovw, 0, known, diff)):
        return None
    added = len(kw) - known
    if len(diff) + added > FEW:
        return None
    ks, vs = m.keys[start : start + known], m.vals[start : start + known]
    total = m.sums[c]
    diff = sorted(set(diff))
    for i in diff:
        key, old = ks[i], vs[i]
        if kw[i] != okw[i]:
            if kw[i]:
                return None  # another key at this index: the table was rebuilt
            total -= pair_digest((key, old))  # deleted
            ks[i] = vs[i] = _HOLE
            continue
        if not kw[i]:
            return None
        value = obj.get(key, _HOLE)  # a plain key: no user code runs
        if id(value) != vw[i]:
            raise _Mismatch
        if not plain([(key, value)]):
            return None
        total += pair_digest((key, value)) - pair_digest((key, old))
        vs[i] = value
    digested = len(diff)
    if added:  # entries appended since
        tail_k, tail_v = kw[known:], vw[known:]
        count = added - tail_k.count(0)
        holes = kw.count(0) - (added - count)
        pairs = walk.at(position + known - holes, count) if count else []
        if not plain(pairs):
            return None
        new_k, new_v = _placed(pairs, tail_k, tail_v)
        total += sum(map(pair_digest, pairs))
        ks += new_k
        vs += new_v
        digested += count
    return total, True, ks, vs, kw, vw, len(kw) - kw.count(0), digested


def _differing(a: array[int], b: array[int], lo: int, hi: int, out: list[int]) -> bool:
    """Add to ``out`` the indices in ``lo .. hi`` where ``a`` and ``b`` differ, found by halving
    (array slices compare at C speed); False once they are more than ``FEW``."""
    if a[lo:hi] == b[lo:hi]:
        return True
    if hi - lo <= 32:
        out.extend(i for i in range(lo, hi) if a[i] != b[i])
        return len(out) <= FEW
    mid = (lo + hi) // 2
    return _differing(a, b, lo, mid, out) and _differing(a, b, mid, hi, out)


def _whole_chunk(
    enc: Encoder,
    m: _Map,
    obj: dict[Any, Any],
    walk: _Walk,
    c: int,
    start: int,
    kw: array[int],
    vw: array[int],
    position: int,
) -> Found:
    count = len(kw) - kw.count(0)
    pairs = None
    if m.raw[c] and m.kw[c] == kw and start + len(kw) <= len(m.keys):
        ks = m.keys[start : start + len(kw)]  # the same keys as at the last cell: values by key
        if count != len(kw):
            ks = [k for k in ks if k is not _HOLE]
        pairs = list(zip(ks, map(obj.__getitem__, ks), strict=True))
    if pairs is None:
        pairs = walk.at(position, count)
    keys_at, vals_at = _placed(pairs, kw, vw)
    total, ok = entry_sum(enc, pairs)
    return total, ok, keys_at, vals_at, kw, vw, count, count


def _placed(
    pairs: list[tuple[Any, Any]], kw: array[int], vw: array[int]
) -> tuple[list[Any], list[Any]]:
    """The keys and values of ``pairs`` by entry index, checked against the table's words."""
    ks, vs = list(map(_first, pairs)), list(map(_second, pairs))
    if len(ks) != len(kw):
        it_k, it_v = iter(ks), iter(vs)
        ks = [next(it_k) if w else _HOLE for w in kw]
        vs = [next(it_v) if w else _HOLE for w in kw]
        kw = array("Q", [w or _HOLE_ID for w in kw])
        vw = array("Q", [w or _HOLE_ID for w in vw])
    if addresses(ks) != kw.tobytes() or addresses(vs) != vw.tobytes():
        raise _Mismatch
    return ks, vs


def _commit(m: _Map, c: int, start: int, fp: bytes, found: Found) -> None:
    """Keep what chunk ``c`` holds now; in an order that leaves it to be hashed again whole if
    an interrupt stops this half way."""
    total, ok, ks, vs, kw, vw, live, _ = found
    if start > len(m.keys):
        return  # a chunk before it was not done: it stays to be hashed
    m.raw[c], m.reusable[c] = b"", False
    if start == len(m.keys):
        m.keys += ks
        m.vals += vs
    else:
        m.keys[start : start + len(ks)] = ks
        m.vals[start : start + len(vs)] = vs
    m.kw[c], m.vw[c] = kw, vw
    m.sums[c], m.live[c] = total, live
    m.raw[c], m.reusable[c] = fp, ok


class _Walk:
    """A dict's items by position: one forward walk for many chunks, else from the nearer end."""

    def __init__(self, d: dict[Any, Any], n: int, sequential: bool) -> None:
        self.d, self.n, self.sequential = d, n, sequential
        self.it: Iterator[tuple[Any, Any]] | None = None
        self.pos = 0

    def at(self, first: int, count: int) -> list[tuple[Any, Any]]:
        ahead = first - self.pos
        if (
            self.it is None
            or ahead < 0
            or (not self.sequential and ahead > min(first, self.n - first - count))
        ):
            if not self.sequential and first > self.n - first - count:
                return _items_at(self.d, first, count, self.n)
            self.it, self.pos, ahead = iter(self.d.items()), 0, first
        if ahead:
            next(islice(self.it, ahead, ahead), None)
        self.pos = first + count
        return list(islice(self.it, count))


def _items_at(d: dict[Any, Any], first: int, count: int, n: int) -> list[tuple[Any, Any]]:
    """Items ``first .. first + count`` in iteration order, walked from the nearer end."""
    if first <= n - first - count:
        return list(islice(d.items(), first, first + count))
    tail = list(islice(reversed(d.items()), n - first - count, n - first))
    tail.reverse()
    return tail
