"""CPython's in-memory layout of lists and dicts, read with ctypes after a self-check at import
(``LIST_LAYOUT``, ``DICT_LAYOUT`` are False on another interpreter, and nothing is read then).

Used by ``containers`` to tell, without walking a large container, which of its chunks hold the
very same objects as at the last cell. Memory is hashed in one C call that keeps the GIL:
xxhash's Python functions release it while hashing a large buffer, and another thread could
then resize the container and free the memory being read.
"""

from __future__ import annotations

import ctypes
import importlib
import sys
from array import array
from typing import Any

from xxhash import xxh3_128_digest

PTR = ctypes.sizeof(ctypes.c_void_p)


class _Hash128(ctypes.Structure):
    _fields_ = (("low", ctypes.c_uint64), ("high", ctypes.c_uint64))


def _xxh3_holding_the_gil() -> Any:
    """xxhash's own ``XXH3_128bits``, called through ``ctypes.PyDLL`` (which keeps the GIL), if
    it gives what ``xxh3_128_digest`` gives; else None."""
    try:
        f = ctypes.PyDLL(importlib.import_module("xxhash._xxhash").__file__).XXH3_128bits
        f.restype, f.argtypes = _Hash128, (ctypes.c_void_p, ctypes.c_size_t)
        probe = (ctypes.c_char * 70_000).from_buffer_copy(bytes(range(250)) * 280)
        r = f(ctypes.addressof(probe), len(probe))
        if (r.high << 64 | r.low).to_bytes(16, "big") != xxh3_128_digest(probe):
            return None
        return f
    except Exception:
        return None


_XXH3 = _xxh3_holding_the_gil()


def list_items_address(lst: list[Any]) -> int:
    return ctypes.c_void_p.from_address(id(lst) + 3 * PTR).value or 0


def _check_list_layout() -> bool:
    a, b = object(), object()
    probe = [a, b]
    try:
        addr = list_items_address(probe)
        return bool(addr) and ctypes.string_at(addr, 2 * PTR) == (
            id(a).to_bytes(PTR, sys.byteorder) + id(b).to_bytes(PTR, sys.byteorder)
        )
    except Exception:
        return False


def dict_table(d: dict[Any, Any]) -> tuple[int, int, int] | None:
    """(address of the entry table, number of entries incl. deleted, entry size), CPython 3.11+.
    An entry is (hash, key, value) or, for str keys only, (key, value): its last two words are
    the key's and the value's addresses, both 0 in a deleted entry."""
    if sys.version_info < (3, 11):
        return None
    base = id(d)
    keys = ctypes.c_void_p.from_address(base + 4 * PTR).value
    values = ctypes.c_void_p.from_address(base + 5 * PTR).value
    if not keys or values:  # split tables (instance dicts) are not read
        return None
    log2_index_bytes = ctypes.c_uint8.from_address(keys + PTR + 1).value
    kind = ctypes.c_uint8.from_address(keys + PTR + 2).value
    nentries = ctypes.c_ssize_t.from_address(keys + 3 * PTR).value
    entries = keys + 4 * PTR + (1 << log2_index_bytes)
    return entries, nentries, (3 if kind == 0 else 2) * PTR


def _check_dict_layout() -> bool:
    try:
        probes: tuple[dict[Any, object], ...] = ({"a": object(), "b": object()}, {1: 2, (2,): 3})
        for d in probes:
            table = dict_table(d)
            if table is None:
                return False
            entries, n, size = table
            if n != 2:
                return False
            for i, (k, v) in enumerate(d.items()):
                raw = ctypes.string_at(entries + i * size + size - 2 * PTR, 2 * PTR)
                if raw != id(k).to_bytes(PTR, sys.byteorder) + id(v).to_bytes(PTR, sys.byteorder):
                    return False
            del d[next(iter(d))]
            table = dict_table(d)
            if table is None or ctypes.string_at(table[0] + table[2] - 2 * PTR, 2 * PTR) != bytes(
                2 * PTR
            ):
                return False  # a deleted entry reads as zeros
        return True
    except Exception:
        return False


def dict_version(d: dict[Any, Any]) -> int:
    """``d``'s version tag (PEP 509), which every change to ``d`` moves (a read does not)."""
    return ctypes.c_uint64.from_address(id(d) + 3 * PTR).value


def _check_dict_version() -> bool:
    try:
        d: dict[Any, Any] = dict.fromkeys(range(10), 0)
        seen = [dict_version(d)]
        _ = d[3], len(d), list(d.items())
        if dict_version(d) != seen[0]:
            return False
        for change in (
            lambda: d.__setitem__(3, object()),
            lambda: d.__setitem__(99, 1),
            lambda: d.pop(4),
            lambda: d.update({5: object()}),
            lambda: d.popitem(),
            lambda: d.setdefault(-1, 2),
            lambda: d.clear(),
        ):
            change()
            if dict_version(d) in seen:
                return False
            seen.append(dict_version(d))
        return True
    except Exception:
        return False


LIST_LAYOUT = _check_list_layout()
DICT_LAYOUT = _check_dict_layout() and array("Q").itemsize == PTR
DICT_VERSION = DICT_LAYOUT and _check_dict_version()


def memory_digest(address: int, nbytes: int) -> bytes:
    """``xxh3_128_digest`` of ``nbytes`` of memory at ``address``, read in one C call that keeps
    the GIL (or from a copy made in one)."""
    if _XXH3 is None:
        return xxh3_128_digest(ctypes.string_at(address, nbytes))
    r = _XXH3(address, nbytes)
    return (r.high << 64 | r.low).to_bytes(16, "big")


def entry_words(address: int, nbytes: int) -> tuple[bytes, array[int]]:
    """The digest of ``nbytes`` of a dict's entry table (as ``memory_digest``) and its words,
    from one copy taken with the GIL held."""
    raw = ctypes.string_at(address, nbytes)
    return xxh3_128_digest(raw), array("Q", raw)


def addresses(items: list[Any]) -> bytes:
    """The addresses of the objects in list ``items``, as the words of a table hold them."""
    if LIST_LAYOUT:
        return ctypes.string_at(list_items_address(items), len(items) * PTR)
    return array("Q", map(id, items)).tobytes()


def keys_pointer(d: dict[Any, Any]) -> Any:
    """A live view of ``d``'s pointer to its keys object (``.value``), which a resize changes."""
    return ctypes.c_void_p.from_address(id(d) + 4 * PTR)
