"""Content hashes of kernel variables, stable across processes, cheap for unchanged large data.

``hash_value(obj)`` is a 32-hex-char xxh3_128 digest of a canonical encoding of ``obj``'s content
(see ``nbtrack.capture.canonical.encoder``), or ``"unhashable:<reason>"``; it never raises. ``StateHasher`` hashes a
whole namespace after each cell, re-hashing large arrays/DataFrames only when the cell may have
touched them (``names_touched``).
"""

from __future__ import annotations

import functools
import re
import time
import types
import weakref
from collections.abc import Iterable, Mapping
from typing import Any

from nbtrack.capture.canonical.arrays import memory_roots, nbytes_of
from nbtrack.capture.canonical.encoder import (
    DATA_HANDLERS,
    Encoder,
    Unhashable,
    handler_for,
    reason,
)
from nbtrack.capture.cellnames import names_touched

__all__ = ["StateHasher", "hash_value", "is_user_name", "names_touched"]

UNHASHABLE = "unhashable:"

_IPYTHON_NAMES = frozenset(
    {"_", "__", "___", "_i", "_ii", "_iii", "_ih", "_oh", "_dh", "In", "Out", "exit", "quit"}
    | {"get_ipython"}
)
_NUMBERED = re.compile(r"_i?\d+\Z")


def is_user_name(name: str) -> bool:
    """False for IPython's bookkeeping (``_``, ``_5``, ``_i5``, ``In``, ``Out``, ``exit``...) and dunders."""
    return not (name in _IPYTHON_NAMES or name.startswith("__") or _NUMBERED.match(name))


def hash_value(obj: object) -> str:
    """32-hex-char content hash of ``obj``, or ``"unhashable:<reason>"``; never raises."""
    return _hash_with(Encoder(), obj)


def _hash_with(enc: Encoder, obj: object) -> str:
    enc.nodes = 0
    try:
        return enc.hexdigest(obj)
    except Unhashable as exc:
        return UNHASHABLE + str(exc)
    except RecursionError:
        return UNHASHABLE + "nested too deeply"
    except Exception as exc:
        return f"{UNHASHABLE}{type(exc).__name__}: {reason(exc)}"


SLOW_SECONDS = 0.002
IMMUTABLE_ATOMS = frozenset({int, float, complex, str, bytes, bool, type(None), range})


class _Entry:
    """A cached token of one large object, held by weakref (or strongly when weakrefs fail)."""

    __slots__ = ("ref", "weak", "token", "roots")

    def __init__(self, obj: object, token: bytes, roots: frozenset[int]) -> None:
        try:
            self.ref: Any = weakref.ref(obj)
            self.weak = True
        except TypeError:
            self.ref, self.weak = obj, False
        self.token = token
        self.roots = roots

    def holds(self, obj: object) -> bool:
        return (self.ref() if self.weak else self.ref) is obj


class StateHasher:
    """Hashes a kernel namespace cell after cell, reusing the hashes of large untouched data.

    Besides large numpy/pandas data, any other value that took more than ``SLOW_SECONDS`` to hash
    (a list of a million records, a big object graph) is re-hashed only when the cell names
    it (or calls notebook code that does) or binds another name to the very same object; a
    mutation reaching it only through some other container goes unseen until it is touched.
    That keeps the cost per cell bounded; ``touched=None`` still re-hashes everything.
    """

    def __init__(self, large_bytes: int = 1 << 20) -> None:
        self.large_bytes = large_bytes
        self.stats = {"large_hashed": 0, "large_reused": 0}  # of the last hash_namespace call
        self._cache: dict[int, _Entry] = {}
        self._seen: set[int] = set()  # large objects met in this call
        self._computed: set[int] = set()  # ... and those of them hashed afresh
        self._dirty_roots: set[int] = set()  # memory written this cell, as far as we can tell
        self._last: dict[str, tuple[object, str, float]] = {}  # name -> (object, hash, seconds)
        self._previous: dict[str, tuple[object, str, float]] = {}  # the same, for the cell before

    def hash_namespace(
        self,
        ns: Mapping[str, object],
        touched: set[str] | None,
        hidden: Iterable[str] = frozenset(),
    ) -> dict[str, str]:
        """{name: hash} for every user variable in ``ns`` (``is_user_name`` and not ``hidden``).

        ``touched=None`` re-hashes everything. Otherwise names in ``touched`` (plus the globals
        named by notebook functions and methods they refer to, transitively) are hashed fully
        first, refreshing the cache of every large object met inside them; the other names are
        hashed after, and large numpy/pandas objects among them (``nbytes >= large_bytes``) reuse
        their cached hash unless memory they share was met in a touched name.
        """
        if not isinstance(
            hidden, (set, frozenset, dict)
        ):  # IPython's user_ns_hidden is a dict: no copy per cell
            hidden = frozenset(hidden)
        names = [n for n in list(ns) if is_user_name(n) and n not in hidden]
        wide = None if touched is None else expand_touched(ns, touched)
        self.stats = {"large_hashed": 0, "large_reused": 0}
        self._seen, self._computed, self._dirty_roots = set(), set(), set()
        enc = Encoder(large=self, fresh=True)
        out: dict[str, str] = {}
        last, self._last = self._last, {}
        self._previous = last
        for name in names:
            if wide is None or name in wide:
                out[name] = self._timed(name, enc, ns.get(name))
        enc.fresh = False
        touched_ids = {id(ns.get(n)) for n in out}
        for name in names:
            if name in out:
                continue
            obj = ns.get(name)
            prev = last.get(name)
            if (
                prev is not None
                and prev[0] is obj
                and prev[2] >= SLOW_SECONDS
                and id(obj) not in touched_ids
                and handler_for(type(obj))
                not in DATA_HANDLERS  # numpy/pandas: the large-object cache decides
            ):
                out[name] = prev[1]  # slow to hash and untouched: see the class docstring
                self._last[name] = prev
            else:
                out[name] = self._timed(name, enc, obj)
        self._cache = {k: e for k, e in self._cache.items() if k in self._seen}
        return {name: out[name] for name in names}

    def _timed(self, name: str, enc: Encoder, obj: object) -> str:
        prev = self._previous.get(name)
        if prev is not None and prev[0] is obj and type(obj) in IMMUTABLE_ATOMS:
            self._last[name] = prev  # the very same immutable object: the same content
            return prev[1]
        start = time.perf_counter()
        h = _hash_with(enc, obj)
        self._last[name] = (obj, h, time.perf_counter() - start)
        return h

    def token(self, enc: Encoder, obj: object) -> bytes:
        """Called by the encoder for every numpy/pandas object (the ``LargeHook`` protocol)."""
        if enc.fresh:
            self._dirty_roots |= memory_roots(obj)
        if nbytes_of(obj) < self.large_bytes:
            return enc.compute(obj)[0]
        oid = id(obj)
        entry = self._cache.get(oid)
        if entry is not None and entry.holds(obj):
            # hashed earlier in this call (after the cell ran), or untouched with no shared memory dirty
            if oid in self._computed or not (enc.fresh or entry.roots & self._dirty_roots):
                self._seen.add(oid)
                self.stats["large_reused"] += 1
                return entry.token
        before = enc.mutable_nodes
        tok, context_free = enc.compute(obj)
        self.stats["large_hashed"] += 1
        self._seen.add(oid)
        self._computed.add(oid)
        if context_free and enc.mutable_nodes == before:  # holds nothing mutable of its own
            self._cache[oid] = _Entry(obj, tok, memory_roots(obj))
        else:
            self._cache.pop(oid, None)
        return tok


def expand_touched(ns: Mapping[str, object], touched: Iterable[str]) -> set[str]:
    """``touched`` plus the global names used by the notebook functions (and methods of notebook
    classes and their instances) that it names, transitively: ``f()`` may mutate a global."""
    out = set(touched)
    todo = list(out)
    while todo:
        value = ns.get(todo.pop())
        for code in _notebook_code(value, ns):
            for name in _global_names(code):
                if name not in out:
                    out.add(name)
                    todo.append(name)
    return out


def _notebook_code(value: object, ns: Mapping[str, object]) -> list[types.CodeType]:
    """Code of ``value`` if it is, holds (one level deep) or is an instance of something
    defined in the notebook."""
    codes = _own_code(value, ns)
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        for item in value[:100]:
            if isinstance(item, (types.FunctionType, types.MethodType, functools.partial)):
                codes += _own_code(item, ns)
    return codes


def _own_code(value: object, ns: Mapping[str, object]) -> list[types.CodeType]:
    if isinstance(value, types.MethodType):
        value = value.__func__
    if isinstance(value, functools.partial):
        value = value.func
    if isinstance(value, types.FunctionType):
        mine = value.__globals__ is ns or value.__module__ == "__main__"
        return [value.__code__] if mine else []
    cls = value if isinstance(value, type) else type(value)
    codes = []
    for klass in getattr(cls, "__mro__", ()):
        if getattr(klass, "__module__", None) != "__main__":
            continue
        for attr in vars(klass).values():
            for f in (attr, getattr(attr, "__func__", None), getattr(attr, "fget", None)):
                if isinstance(f, types.FunctionType):
                    codes.append(f.__code__)
    return codes


_code_names: dict[types.CodeType, frozenset[str]] = {}


def _global_names(code: types.CodeType) -> frozenset[str]:
    """co_names of ``code`` and of the code nested in it (inner functions, comprehensions)."""
    found = _code_names.get(code)
    if found is None:
        names = set(code.co_names)
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                names |= _global_names(const)
        found = _code_names[code] = frozenset(names)
    return found
