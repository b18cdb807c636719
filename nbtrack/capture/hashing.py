"""Content hashes of kernel variables, stable across processes, cheap for unchanged large data.

``hash_value(obj)`` is a 32-hex-char xxh3_128 digest of a canonical encoding of ``obj``'s content
(see ``nbtrack.capture.canonical``), or ``"unhashable:<reason>"``; it never raises, not even
BaseException. ``StateHasher`` hashes a whole namespace after each cell, re-hashing only what the
cell may have touched (``names_touched``), within a per-cell time and byte budget.
"""

from __future__ import annotations

import functools
import operator
import re
import sys
import time
import types
import weakref
from collections.abc import Iterable, Mapping
from itertools import compress, islice
from typing import Any

from nbtrack.capture.canonical.arrays import Span, memory_of, merged, nbytes_of, overlaps
from nbtrack.capture.canonical.budget import MARKER, Budget, BudgetExceeded
from nbtrack.capture.canonical.chunks import ChunkCache
from nbtrack.capture.canonical.encoder import Encoder, Unhashable, is_real_interrupt, reason
from nbtrack.capture.cellnames import cell_names, names_touched

__all__ = ["StateHasher", "cell_names", "hash_value", "is_user_name", "names_touched"]

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
    except BudgetExceeded as exc:
        return f"{BUDGET_EXCEEDED}: {exc}"
    except Exception as exc:
        return f"{UNHASHABLE}{type(exc).__name__}: {reason(exc)}"
    except BaseException as exc:  # an interrupt while hashing: the caller stops there
        if is_real_interrupt(enc, exc):
            raise  # the user pressed Interrupt: StateHasher's caller records the state incomplete
        enc.interrupted = True
        return f"{UNHASHABLE}{type(exc).__name__} while hashing"


BUDGET_EXCEEDED = UNHASHABLE + MARKER
INTERRUPTED = UNHASHABLE + "interrupted"
IMMUTABLE_ATOMS = frozenset({int, float, complex, str, bytes, bool, type(None), range})
MAX_TRACKED_IDS = 20_000
"""Mutable objects remembered per variable; past it, see the StateHasher docstring."""


class _Entry:
    """A cached token of one large object, held by weakref (a numpy array by ``_Ident``, or
    strongly when weakrefs fail), with the ``keys``, ``spans`` and ``fixed`` of the data inside
    it (see ``_Data``)."""

    __slots__ = ("ref", "weak", "token", "keys", "spans", "fixed")

    def __init__(
        self,
        obj: object,
        token: bytes,
        keys: frozenset[int],
        spans: tuple[Span, ...] | None,
        fixed: tuple[Span, ...],
    ) -> None:
        self.ref: Any = _hold(obj)
        self.weak = type(self.ref) is not _Ident
        if self.weak:
            try:
                self.ref = weakref.ref(obj)
            except TypeError:
                self.ref, self.weak = obj, False
        self.token = token
        self.keys = keys
        self.spans = spans
        self.fixed = fixed

    def holds(self, obj: object) -> bool:
        if self.weak:
            return self.ref() is obj
        return _is(self.ref, obj)

    def alive(self, held: Mapping[int, object]) -> bool:
        """Still worth keeping: its object lives on elsewhere (an array known by identity
        while a variable's data is that array, ``held``; one held strongly only while it is
        met, or the cache would keep it alive)."""
        if self.weak:
            return self.ref() is not None
        return type(self.ref) is _Ident and self.ref.oid in held


class _Ident:
    """A numpy array known by identity alone. numpy's ``a.resize(n)`` refuses while anything
    else refers to ``a``, weak references included, so the hasher holds no reference to the
    arrays it remembers: their id and layout (type, data address, shape, strides, dtype) tell
    them apart from a new array made at the same address once the old one is freed."""

    __slots__ = ("oid", "layout")

    def __init__(self, arr: Any) -> None:
        self.oid = id(arr)
        self.layout = _layout(arr)

    def of(self, obj: object) -> bool:
        """``obj`` is the array this was made from (as far as anything can tell)."""
        return id(obj) == self.oid and _layout(obj) == self.layout


def _layout(arr: Any) -> tuple[Any, ...]:
    try:
        face = arr.__array_interface__
        return (type(arr), face["data"][0], arr.shape, face["strides"], arr.dtype)
    except Exception:
        return ()


def _hold(obj: object) -> object:
    """What the hasher keeps of ``obj``: itself, or an ``_Ident`` if it is a numpy array."""
    np = sys.modules.get("numpy")
    if np is not None and isinstance(obj, np.ndarray):
        return _Ident(obj)
    return obj


def _is(held: object, obj: object) -> bool:
    """``obj`` is what ``held`` (``_hold``'s answer) stands for."""
    return held is obj or (type(held) is _Ident and held.of(obj))


class _Data:
    """A numpy/pandas object met at the top of a variable's data (not inside another one): its
    token, the ids of the data objects in it and of the owners of their memory (``keys``), and
    the byte ranges of that memory (``spans``) and of the Arrow memory it reads, which no write
    through it reaches (``fixed``, see ``memory_of``). The data object is held (found again to
    check it), unless it is the variable's own value (``own``): then ``_hold``, so the user can
    ``a.resize(n)`` an array variable; an array inside a list or an object stays held, or
    checking it would mean hashing its whole variable again."""

    __slots__ = ("obj", "token", "keys", "spans", "fixed")

    def __init__(
        self,
        obj: object,
        token: bytes,
        keys: frozenset[int],
        spans: tuple[Span, ...],
        fixed: tuple[Span, ...],
        own: bool,
    ) -> None:
        self.obj, self.token, self.keys = _hold(obj) if own else obj, token, keys
        self.spans, self.fixed = spans, fixed


class _Var:
    """What the last hashing of one variable found: its object (held: ``_hold``) and its id,
    hash, the ids of the mutable objects inside it (None: too many to track), whether it is
    hashed again after every cell (``again``) and the numpy/pandas data at its top (``()`` if
    none, None if unknown)."""

    __slots__ = ("obj", "oid", "hash", "ids", "again", "data", "spans")

    def __init__(
        self,
        obj: object,
        h: str,
        ids: frozenset[int] | None,
        again: bool,
        data: tuple[_Data, ...] | None = (),
    ) -> None:
        self.obj, self.oid = _hold(obj), id(obj)
        self.hash, self.ids, self.again, self.data = h, ids, again, data
        self.spans: tuple[Span, ...] = ()
        if data:
            self.spans = tuple(s for d in data for s in (*d.spans, *d.fixed))


Frame = list[Any]  # [keys: set[int], spans: list[Span] | None, fixed: list[Span]] of a data
# object being encoded


class StateHasher:
    """Hashes a kernel namespace cell after cell; the cost follows what the cell touched.

    After a cell, a variable is hashed again only when the cell names it (or calls notebook
    code that does: ``expand_touched``), when the name is bound to another object, or when it
    holds a mutable object met while hashing the touched variables (an alias: ``b = a;
    b.append(1)``, ``lst = [a]; lst[0].append(1)``, or ``a = [x]; x.append(1)``). What a touched
    name held before the cell rebound or deleted it counts as touched (``v[:] = 0; del v``),
    unless the cell bound the name afresh before naming it (``rebound``).

    numpy/pandas data is matched by memory: an untouched variable whose data shares a data
    object, the owner of its memory (``v = a[:10]; v[:] = 0``) or overlapping bytes (two
    ``np.frombuffer`` of one buffer, Arrow over numpy) with the touched variables' data has those
    data objects hashed again (through the large-object cache, which sees writes through views);
    if any token differs, the whole variable is hashed again. When a touched variable could not
    be walked whole (its hash ran out of time, was interrupted, or stopped at something
    unhashable inside it), every variable holding data is hashed again; one whose data's memory
    cannot be located (an unknown extension array), or holding data and more than
    ``MAX_TRACKED_IDS`` mutable objects, is hashed again after every cell. Every other variable
    keeps its hash whatever its size. Not seen: a mutation reaching an untouched variable only
    through references held outside the namespace (a library's registry, a closure of library
    code, a module's globals, another thread) and, for a variable holding more than
    ``MAX_TRACKED_IDS`` mutable objects, one reaching it through some other container; both are
    seen when the variable is next touched. ``touched=None`` re-hashes everything.

    Hashing runs under a per-cell ``Budget`` (see ``canonical.budget``); large lists, dicts and
    sets reuse the digests of their unchanged chunks (``canonical.containers``).
    """

    def __init__(self, large_bytes: int = 1 << 20) -> None:
        self.large_bytes = large_bytes
        self.stats = {"large_hashed": 0, "large_reused": 0}  # of the last hash_namespace call
        self.rehashed = 0  # variables hashed by the last call
        self.interrupted = False  # the last call was interrupted: some values are markers
        self.budget: Budget | None = None
        self.chunks = ChunkCache()
        self._cache: dict[int, _Entry] = {}
        self._seen: set[int] = set()  # large objects met in this call
        self._computed: set[int] = set()  # ... and those of them hashed afresh
        self._vars: dict[str, _Var] = {}
        self._order: list[str] = []  # names of the last call, with their objects
        self._objs: list[object] = []
        self._arrays: set[str] = set()  # variables that are a numpy array (see _Ident)
        self._pos: tuple[list[str], dict[str, int]] = ([], {})  # _order's names -> positions
        self._owners: dict[int, set[str]] = {}  # id of a mutable object -> variables holding it
        self._node_tok: dict[int, bytes] = {}  # ... -> its token when they were hashed
        self._user: dict[str, bool] = {}  # is_user_name, remembered
        self._keys: list[str] | None = None  # the namespace's keys at the last call
        self._hashes: dict[str, str] = {}  # the last result, kept up to date
        self._data_names: set[str] = set()  # variables hashed again after every cell
        self.same_names = False  # the last call saw the same user names as the one before
        self.hashed_names: list[str] = []  # ... and hashed these again
        self._done: set[str] = set()
        self._data_seen = False
        # numpy/pandas data, matched by memory
        self._watched: dict[str, _Var] = {}  # variables holding data, known whole
        self._key_owners: dict[int, set[str]] = {}  # a data object / memory owner -> them
        self._tops: list[_Data] | None = []  # top data of the variable being hashed
        self._value: object = None  # ... and its value
        self._stack: list[Frame] = []  # data objects being encoded, innermost last
        self._call: dict[int, tuple[object, bytes, frozenset[int], Any, tuple[Span, ...]]] = {}
        self._dirty_keys: set[int] = set()  # data objects and memory owners touched this cell
        self._dirty_spans: list[Span] = []  # ... and their memory (not Arrow's: see memory_of)
        self._merged_at: tuple[int, tuple[list[int], list[int]]] = (0, ([], []))
        self._blind = False  # some memory the cell may have written is not known
        self.watched_checked = 0  # variables whose data the last call checked by memory
        self.watched_rehashed = 0  # ... and of them, hashed again whole

    def hash_namespace(
        self,
        ns: Mapping[str, object],
        touched: set[str] | None,
        hidden: Iterable[str] = frozenset(),
        rebound: Iterable[str] = (),
    ) -> dict[str, str]:
        """{name: hash} for every user variable in ``ns`` (``is_user_name`` and not ``hidden``).

        ``touched=None`` re-hashes everything. Otherwise names in ``touched`` (plus the globals
        named by notebook functions and methods they refer to, transitively) are hashed fully
        first, refreshing the caches of the large objects met inside them; then the variables
        the class docstring lists; the others keep their hash. ``rebound`` (``cell_names``'
        second answer) names the touched names the cell bound afresh before naming them: what
        they held before is not counted as touched, unless a notebook function the cell names
        reads that global (a refit ``model = smf.glm(...)`` leaves the earlier results holding
        the old model alone).
        """
        if not isinstance(hidden, (set, frozenset, dict)):
            hidden = frozenset(hidden)
        names = self._user_names(ns, hidden)
        self.stats = {"large_hashed": 0, "large_reused": 0}
        self._seen, self._computed = set(), set()
        self._dirty_keys, self._dirty_spans, self._blind = set(), [], False
        self._merged_at = (0, ([], []))
        self._call = {}
        self.watched_checked = self.watched_rehashed = 0
        self.chunks.start()
        self.rehashed = 0
        self.interrupted = False
        budget = self.budget = Budget()
        enc = Encoder(large=self, fresh=True)
        enc.chunks, enc.budget = self.chunks, budget
        enc.interrupted = False
        budget.arm()
        try:
            return self._hash_all(ns, names, touched, enc, rebound)
        except BaseException:  # a real interrupt: the caller records the state incomplete
            for name in names:
                if name not in self._done:
                    self._forget(name)  # hashed afresh next time
            self._order, self._keys = [], None
            raise
        finally:
            budget.disarm()
            self._call = {}
            self._stack, self._value = [], None
            held = self._key_owners
            self._cache = {k: e for k, e in self._cache.items() if k in self._seen or e.alive(held)}
            self.chunks.prune()

    def _user_names(self, ns: Mapping[str, object], hidden: Any) -> list[str]:
        user = self._user
        if len(user) > 100_000:
            user.clear()
        keys = list(ns)
        prev = self._keys
        if prev is not None and len(keys) >= len(prev) and keys[: len(prev)] == prev:
            # IPython adds _i<n> and _<n> (to the hidden names too) every cell: the same user
            # names if only such names came (a name hidden later keeps being hashed)
            if not any(_user(n, user) and n not in hidden for n in keys[len(prev) :]):
                self._keys = keys
                return self._order
        out = [n for n in keys if _user(n, user) and n not in hidden]
        self._keys = keys
        return out

    def _hash_all(
        self,
        ns: Mapping[str, object],
        names: list[str],
        touched: set[str] | None,
        enc: Encoder,
        rebound: Iterable[str],
    ) -> dict[str, str]:
        vars_ = self._vars
        self.same_names = names is self._order or names == self._order
        dirty: set[int] = set()  # mutable objects and memory owners the touched variables hold
        if touched is None:
            first = names
            todo: list[str] = []
        else:
            wide = expand_touched(ns, touched)
            kept = _not_written(ns, touched, rebound)
            for n in wide:  # what a touched name held before the cell rebound or deleted it
                if n in kept:
                    continue  # ... unless it was rebound before anything could write through it
                if (v := vars_.get(n)) is not None and not _is(v.obj, ns.get(n)):
                    self._dropped(v, dirty)
            if self.same_names:  # the common case: no name bound or deleted
                first = [n for n in wide if n in vars_]
                objs = list(map(ns.get, names))
                todo = list(compress(names, map(operator.is_not, objs, self._objs)))
                if self._arrays:  # self._objs holds their _Ident: compared by id here (an
                    # untouched name is bound to another object only where touched is None)
                    arrays = self._arrays
                    todo = [n for n in todo if n not in arrays or vars_[n].oid != id(ns.get(n))]
            else:
                present = set(names)
                first = [n for n in names if n in wide]
                todo = [
                    n for n in names if (v := vars_.get(n)) is None or not _is(v.obj, ns.get(n))
                ]
                for gone in set(vars_) - present:
                    self._forget(gone)
            todo += self._data_names  # re-hashed through the large-object cache
        done = self._done = set()
        for name in first:
            if enc.interrupted:
                break
            self._hash_var(name, ns.get(name), enc, dirty)
            done.add(name)
        enc.fresh = False
        if touched is not None and not enc.interrupted:
            owners = self._owners
            # (a buffer exported to numpy, a bytearray say, is both data's memory and mutable)
            keys = self._dirty_keys
            keys |= dirty
            for i in keys:  # untouched variables holding what the touched ones hold
                held = owners.get(i)
                if held:
                    todo.extend(held)
            todo += self._watched_dirty(ns, enc, done)
        for name in todo:
            if name in done or enc.interrupted:
                continue
            done.add(name)
            for i in self._hash_var(name, ns.get(name), enc, None):
                todo.extend(self._owners.get(i, ()))
        if enc.interrupted:  # what was not hashed is unknown; hashed again next cell
            self.interrupted = True
            self.same_names = False  # (so callers compare every name)
            for name in names:
                if name not in done:
                    self._forget(name)
                    self._set(name, _Var(ns.get(name), INTERRUPTED, frozenset(), True, None))
        if touched is None:
            for gone in set(vars_) - set(names):
                self._forget(gone)
        self.hashed_names = list(done)
        if not self.same_names:
            self._order = names
        self._objs = objs = list(map(ns.get, names))
        if self._arrays:  # arrays by identity alone (see _Ident)
            pos = self._positions(names)
            for n in self._arrays:
                if (at := pos.get(n)) is not None:
                    objs[at] = vars_[n].obj
        hashes = self._hashes
        if len(hashes) != len(names) or not self.same_names:
            self._hashes = hashes = {name: vars_[name].hash for name in names}
        return dict(hashes)

    def _hash_var(self, name: str, obj: object, enc: Encoder, dirty: set[int] | None) -> list[int]:
        """Hash variable ``name``; in a touched one (``dirty`` given) add to ``dirty`` the
        mutable objects whose token changed or is not known; else return those whose known
        token changed."""
        prev = self._vars.get(name)
        if prev is not None and prev.obj is obj and type(obj) in IMMUTABLE_ATOMS:
            return []  # the very same immutable object: the same content
        self.rehashed += 1
        ids: set[int] = set()
        enc.collect, enc.memo = ids, {}
        self._data_seen = False
        self._tops, self._stack, self._value = [], [], obj
        budget = enc.budget
        # no time left before this one: it was not really tried
        spent = budget.exceeded or time.perf_counter() > budget.deadline
        try:
            budget.inside = True
            h = _hash_with(enc, obj)
        except BudgetExceeded as exc:  # the alarm, rung just outside the encoder's own handler
            h = f"{BUDGET_EXCEEDED}: {exc}"
        finally:
            budget.inside = False
        enc.collect = None
        tops: list[_Data] | None = self._tops if self._data_seen else []
        self._stack = []
        if h.startswith(UNHASHABLE) and (
            enc.nodes > 1 or enc.interrupted or h.startswith(BUDGET_EXCEEDED)
        ):
            tops = None  # not walked whole: what it holds is not all known
        memo, node_tok = enc.memo, self._node_tok
        changed: list[int] = []
        if dirty is not None:
            # a mutable object whose token is the same as when its holders were hashed changed
            # not: they keep their hash (a class or a library's singleton shared by many values)
            for i in ids:
                hit = memo.get(i)
                if hit is None or node_tok.get(i) != hit[1]:
                    dirty.add(i)
            if tops is None:
                self._blind = True  # the cell may have written memory we did not see
        else:  # an untouched variable: what changed unseen is passed on to its other holders
            for i in ids:
                hit = memo.get(i)
                if hit is not None and (old := node_tok.get(i)) is not None and old != hit[1]:
                    changed.append(i)
        self._forget(name)
        kept = frozenset(ids) if len(ids) <= MAX_TRACKED_IDS else None
        # Hashed again next cell: data not known whole (through the large-object cache), an
        # interrupted hash and one the budget ran out before. Not a value that alone ran past the
        # budget: it is tried again when a cell touches it, not after every cell (which would
        # add the whole budget to each). Other data is watched by its memory.
        if h.startswith(BUDGET_EXCEEDED):
            again = spent
        elif h.startswith(INTERRUPTED):
            again = True
        elif h.startswith(UNHASHABLE):  # hashed again as it is: the same marker
            again = False
        else:
            again = self._data_seen and (tops is None or kept is None)
        data = tuple(tops) if tops is not None and not again else None
        var = _Var(obj, h, kept, again, data)
        self._set(name, var)
        if kept is not None:
            owners = self._owners
            for i in kept:
                owners.setdefault(i, set()).add(name)
                hit = memo.get(i)
                if hit is not None:
                    node_tok[i] = hit[1]
                else:
                    node_tok.pop(i, None)
        else:
            self._owners.setdefault(id(obj), set()).add(name)
        if data and not h.startswith(UNHASHABLE):
            self._watched[name] = var
            key_owners = self._key_owners
            for d in data:
                for k in d.keys:
                    key_owners.setdefault(k, set()).add(name)
        return changed

    def _positions(self, names: list[str]) -> dict[str, int]:
        if self._pos[0] is not names:
            self._pos = (names, {n: i for i, n in enumerate(names)})
        return self._pos[1]

    def _set(self, name: str, var: _Var) -> None:
        self._vars[name] = var
        if type(var.obj) is _Ident:
            self._arrays.add(name)
        else:
            self._arrays.discard(name)
        if name in self._hashes:
            self._hashes[name] = var.hash
        if var.again:
            self._data_names.add(name)

    def _dropped(self, var: _Var, dirty: set[int]) -> None:
        """``var``'s object was rebound or deleted by a touched name: the cell may have written
        through it first."""
        dirty.update(var.ids if var.ids is not None else (var.oid,))
        if var.data is None:
            self._blind = True
            return
        for d in var.data:
            self._dirty_keys |= d.keys
            self._dirty_spans += d.spans

    def _watched_dirty(self, ns: Mapping[str, object], enc: Encoder, done: set[str]) -> list[str]:
        """The watched variables to hash again whole: all of them if the cell may have written
        memory we did not see, else those whose data shares memory with the touched variables'
        and hashes differently now."""
        watched = self._watched
        if self._blind:
            out = [n for n in watched if n not in done]
            self.watched_checked = self.watched_rehashed = len(out)
            return out
        keys, spans = self._dirty_keys, self._dirty_spans
        if not keys and not spans:
            return []
        hit: set[str] = set()
        key_owners = self._key_owners
        for k in keys:
            held = key_owners.get(k)
            if held:
                hit |= held
        starts, stops = self._merged()
        if spans:
            for n, var in watched.items():
                if n not in hit and overlaps(var.spans, starts, stops):
                    hit.add(n)
        out = []
        for n in sorted(hit - done):
            self.watched_checked += 1
            if self._data_changed(enc, watched[n], ns.get(n), starts, stops):
                out.append(n)
        self.watched_rehashed = len(out)
        return out

    def _data_changed(
        self, enc: Encoder, var: _Var, current: object, starts: list[int], stops: list[int]
    ) -> bool:
        """Whether a top data object of ``var`` (whose value is ``current``) that the cell may
        have written hashes differently now (its other contents are known untouched)."""
        keys = self._dirty_keys
        for d in var.data or ():
            if not (
                d.keys & keys
                or overlaps(d.spans, starts, stops)
                or overlaps(d.fixed, starts, stops)
            ):
                continue
            obj = d.obj
            if type(obj) is _Ident:  # only the variable's own array can be found again
                if not obj.of(current):
                    return True  # hashed whole
                obj = current
            enc.memo, enc.collect, enc.nodes = {}, None, 0
            self._stack = [[set(), [], []]]  # what it records goes nowhere
            try:
                tok = enc.node(obj)
            except BaseException as exc:
                if is_real_interrupt(enc, exc):
                    raise
                return True  # hashed whole, which says what it is
            finally:
                self._stack = []
            if tok != d.token:
                return True
        return False

    def _forget(self, name: str) -> None:
        v = self._vars.pop(name, None)
        if v is None:
            return
        self._data_names.discard(name)
        self._arrays.discard(name)
        if self._watched.pop(name, None) is not None and v.data:
            key_owners = self._key_owners
            for d in v.data:
                for k in d.keys:
                    holders = key_owners.get(k)
                    if holders is not None:
                        holders.discard(name)
                        if not holders:
                            del key_owners[k]
        for i in v.ids if v.ids is not None else (v.oid,):
            holders = self._owners.get(i)
            if holders is not None:
                holders.discard(name)
                if not holders:
                    del self._owners[i]
                    self._node_tok.pop(i, None)

    def token(self, enc: Encoder, obj: object) -> bytes:
        """Called by the encoder for every numpy/pandas object (the ``LargeHook`` protocol)."""
        self._data_seen = True
        oid = id(obj)
        hit = self._call.get(oid)
        if hit is not None and hit[0] is obj:  # hashed earlier in this call, after the cell ran
            self._met(enc, obj, hit[1], hit[2], hit[3], hit[4])
            return hit[1]
        entry = self._cache.get(oid)
        if entry is not None and entry.holds(obj):
            # hashed earlier in this call, or untouched with no shared memory dirty
            if oid in self._computed or not (enc.fresh or self._written(entry)):
                self._seen.add(oid)
                self.stats["large_reused"] += 1
                self._met(enc, obj, entry.token, entry.keys, entry.spans, entry.fixed)
                return entry.token
        roots, spans, fixed = memory_of(obj)
        frame: Frame = [set(roots), list(spans) if spans is not None else None, list(fixed)]
        frame[0].add(oid)
        nbytes = nbytes_of(obj)
        large = nbytes >= self.large_bytes
        if large and enc.budget is not None:
            enc.budget.spend(nbytes)
        before = enc.mutable_nodes
        self._stack.append(frame)
        try:
            tok, context_free = enc.compute(obj)
        finally:
            self._stack.pop()
        keys = frozenset(frame[0])
        all_spans = tuple(frame[1]) if frame[1] is not None else None
        all_fixed = tuple(frame[2])
        memoizable = context_free and enc.mutable_nodes == before  # holds nothing mutable
        if large:
            self.stats["large_hashed"] += 1
            self._seen.add(oid)
            self._computed.add(oid)
            if memoizable:
                self._cache[oid] = _Entry(obj, tok, keys, all_spans, all_fixed)
            else:
                self._cache.pop(oid, None)
        if memoizable:
            self._call[oid] = (obj, tok, keys, all_spans, all_fixed)
        self._met(enc, obj, tok, keys, all_spans, all_fixed)
        return tok

    def _met(
        self,
        enc: Encoder,
        obj: object,
        tok: bytes,
        keys: frozenset[int],
        spans: tuple[Span, ...] | None,
        fixed: tuple[Span, ...],
    ) -> None:
        """Data met while hashing a variable: part of the data object around it, or one of the
        variable's top data objects (and, in a touched variable, memory the cell may have
        written: not ``fixed``)."""
        if self._stack:
            frame = self._stack[-1]
            frame[0] |= keys
            frame[2] += fixed
            if frame[1] is not None:
                if spans is None:
                    frame[1] = None
                else:
                    frame[1] += spans
            return
        if spans is None:
            self._tops = None
        elif self._tops is not None:
            self._tops.append(_Data(obj, tok, keys, spans, fixed, obj is self._value))
        if enc.fresh:
            self._dirty_keys |= keys
            if spans is None:
                self._blind = True
            else:
                self._dirty_spans += spans

    def _written(self, entry: _Entry) -> bool:
        """The cell may have written the memory of cached large object ``entry``."""
        if entry.keys & self._dirty_keys:
            return True
        if entry.spans is None or not self._dirty_spans:
            return False
        starts, stops = self._merged()
        return overlaps(entry.spans, starts, stops) or overlaps(entry.fixed, starts, stops)

    def _merged(self) -> tuple[list[int], list[int]]:
        """The touched variables' memory as sorted disjoint ranges (cached while it grows not)."""
        n = len(self._dirty_spans)
        if self._merged_at[0] != n:
            self._merged_at = (n, merged(self._dirty_spans))
        return self._merged_at[1]


def _user(name: str, known: dict[str, bool]) -> bool:
    ok = known.get(name)
    if ok is None:
        ok = known[name] = is_user_name(name)
    return ok


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


def _not_written(ns: Mapping[str, object], touched: set[str], rebound: Iterable[str]) -> set[str]:
    """The ``rebound`` names no notebook function the cell names reads: the objects they held
    before the cell cannot have been written through them."""
    fresh = set(rebound)
    if fresh:
        fresh -= expand_touched(ns, touched - fresh)
    return fresh


def _notebook_code(value: object, ns: Mapping[str, object]) -> list[types.CodeType]:
    """Code of ``value`` if it is, holds (one level deep) or is an instance of something
    defined in the notebook."""
    codes = _own_code(value, ns)
    items: Iterable[object] = ()
    if isinstance(value, dict):
        items = islice(value.values(), 100)  # never a copy of a large dict's values
    elif isinstance(value, (list, tuple)):
        items = value[:100]
    if items:
        for item in items:
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
