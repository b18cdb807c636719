"""Canonical, process-independent content digests of Python objects (the engine of ``hash_value``).

Every value becomes a *token*: atoms (None, bool, int, float, complex, str, bytes) are written
inline as tag + content; every other object is a node whose encoding goes into its own
``xxh3_128`` hasher and is written into its parent as ``b"H" + digest`` (a Merkle tree), so
shared sub-objects are hashed once per call and large buffers stream without copies.
A reference back to an object still being encoded (a cycle) is ``b"R" + distance in levels``.
Nothing here depends on ``id()``, ``hash()`` or memory addresses, so digests are stable across
processes whatever ``PYTHONHASHSEED``. Functions, classes and modules are encoded in
``canonical_code``, numpy arrays and pandas objects in ``canonical_arrays``.
"""

from __future__ import annotations

import collections
import copyreg
import io
import struct
import sys
import types
import weakref
from array import array
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from xxhash import xxh3_128, xxh3_128_digest

from nbtrack.capture.canonical.budget import BudgetExceeded

MAX_DEPTH = 100
"""Deeper nesting makes the value ``unhashable:`` rather than risking Python's recursion limit."""
MAX_NODES = 1_000_000  # an object graph bigger than this is not data worth hashing every cell
# Packages whose objects (the shell, the kernel, widgets, the tracker itself) reach the whole
# process through their references: hashing them is slow and says nothing about the user's data.
MACHINERY = frozenset(
    {
        "IPython",
        "ipykernel",
        "nbtrack",
        "jupyter_client",
        "zmq",
        "tornado",
        "ipywidgets",
        "anywidget",
        "comm",
    }
)
# Plotting libraries whose figures and artists hold the whole drawing (transforms, fonts, the
# canvas, callbacks): a matplotlib figure took past the 2 s budget after every cell of a real
# notebook (statsmodels' ols example). A plot is an output, not state the next cell computes with.
DISPLAY = frozenset({"matplotlib", "mpl_toolkits"})
# Attributes that are not the object's state. Some differ in every process, so a replay of any
# notebook holding such an object "diverged": statsmodels' GLM keeps an ``np.empty_like`` work
# buffer (whatever memory it was given); every scipy.stats distribution (``norm``, and the
# prediction results of statsmodels that keep one) holds numpy's global RandomState, seeded
# from the OS at import. Others are memos of what a method computed (statsmodels' summary
# statistics). Keyed by the defining class ("module.qualname"); subclasses inherit.
VOLATILE: dict[str, frozenset[str]] = {
    "statsmodels.genmod.generalized_linear_model.GLM": frozenset({"_tmp_like_exog"}),
    "scipy.stats._distn_infrastructure.rv_generic": frozenset({"_random_state"}),
    "statsmodels.base.model.LikelihoodModelResults": frozenset({"_summary_statistics_cache"}),
}
# Descriptors that compute an attribute once and keep its value in a dict of the object
# (statsmodels' ``cache_readonly``: ``res.pearson_chi2`` is written into ``res._cache``), as
# "module.qualname" of their exact class -> the descriptor's attribute naming that dict ("":
# always ``_cache``). What they computed is left out of the object's state: reading a result
# does not change its hash, nor make every list of results holding it hashed again. A writable
# one (``cache_writable``: ``res.scale = 2``) is another class, and what it keeps is state.
DERIVED: dict[str, str] = {
    "statsmodels.tools._decorators.CachedAttribute": "cachename",
    "statsmodels.tools._decorators.cache_readonly": "",
    "pandas._libs.properties.CachedProperty": "",  # what statsmodels used before 0.15
}
BIG_ATOM = 1 << 16
"""str/bytes longer than this are written as their digest, so tokens stay small."""
MEMO_LIMIT = 200_000
"""Nodes remembered per encoder (shared sub-objects are hashed once); bounds its memory."""
FAST_LIST = 8
ITEM_CHUNK = 4096
"""Lists/tuples/object arrays at least this long that hold only str, int or float take a fast path."""

u32 = struct.Struct("<I").pack
u64 = struct.Struct("<Q").pack
_i64 = struct.Struct("<q").pack
_f64 = struct.Struct("<d").pack
_NAN = _f64(float("nan"))


class Unhashable(Exception):
    """Raised inside the encoder when an object's content cannot be captured; the message is why."""


def is_real_interrupt(enc: Encoder, exc: BaseException) -> bool:
    """``exc`` is a KeyboardInterrupt that SIGINT raised (the user pressed Interrupt), not one an
    object raised itself; known only under a budget (whose alarm also watches SIGINT)."""
    budget = enc.budget
    return isinstance(exc, KeyboardInterrupt) and budget is not None and budget.sigint


def reason(exc: BaseException) -> str:
    """One short line describing ``exc`` for an ``unhashable:<reason>`` marker."""
    text = str(exc) or type(exc).__name__
    return text.replace("\n", " ")[:200]


# ---------------------------------------------------------------- atoms


_STR_TOKENS: dict[str, bytes] = {}
SHORT_STR = 64
STR_MEMO = 4096
"""Tokens of short strings remembered (attribute names, column names, labels recur in every
object of a kind); up to this many, then forgotten all at once."""


def str_token(s: str) -> bytes:
    exact = type(s) is str
    if exact and (tok := _STR_TOKENS.get(s)) is not None:
        return tok
    b = s.encode("utf-8", "surrogatepass")
    if len(b) > BIG_ATOM:
        return b"S" + xxh3_128_digest(b)
    tok = b"s" + u32(len(b)) + b
    if exact and len(b) <= SHORT_STR:
        if len(_STR_TOKENS) >= STR_MEMO:
            _STR_TOKENS.clear()
        _STR_TOKENS[s] = tok
    return tok


def _tok_bytes(b: bytes) -> bytes:
    if len(b) > BIG_ATOM:
        return b"Y" + xxh3_128_digest(b)
    return b"y" + u32(len(b)) + b


def _tok_int(n: int) -> bytes:
    try:
        return b"i" + _i64(n)
    except struct.error:
        pass
    b = n.to_bytes((n.bit_length() + 8) // 8, "little", signed=True)
    return b"I" + u32(len(b)) + b


def _tok_float(x: float) -> bytes:
    return b"f" + (_f64(x) if x == x else _NAN)  # every NaN alike; -0.0 stays distinct from 0.0


def _tok_complex(z: complex) -> bytes:
    return b"c" + _tok_float(z.real) + _tok_float(z.imag)


ATOMS: dict[type, Callable[[Any], bytes]] = {
    str: str_token,
    int: _tok_int,
    float: _tok_float,
    bool: lambda b: b"T" if b else b"F",
    type(None): lambda _: b"N",
    bytes: _tok_bytes,
    complex: _tok_complex,
}


class LargeHook(Protocol):
    """What the encoder asks about numpy/pandas objects (implemented by ``hashing.StateHasher``)."""

    def token(self, enc: Encoder, obj: object) -> bytes: ...


# ---------------------------------------------------------------- the encoder


class Encoder:
    """Computes tokens; one instance may serve many roots (its memo is shared between them)."""

    def __init__(self, large: LargeHook | None = None, fresh: bool = True) -> None:
        # id -> (keep-alive reference, token) for nodes whose token does not depend on the path
        self.memo: dict[int, tuple[object, bytes]] = {}
        self.active: dict[int, int] = {}  # id -> depth, for objects being encoded right now
        self.depth = 0
        self.lowest = 0  # smallest active depth a back-reference inside the current node reached
        self.mutable_nodes = 0  # lists, dicts, objects...: may change while their holder does not
        self.large = large
        self.fresh = fresh  # read by the large-object hook: re-hash (True) or reuse its cache
        self.nodes = 0  # nodes encoded for the current root; see MAX_NODES
        self.chunks: Any = None  # containers.ChunkCache: chunk digests of large containers
        self.budget: Any = None  # budget.Budget: checked between nodes and chunks
        self.collect: set[int] | None = None  # when a set: the ids of the mutable nodes met
        self.made: set[int] = set()  # ids of dicts made while encoding (a state filtered): not
        # the user's objects, so never collected (their ids are reused once they are freed)
        self.interrupted = False  # set by the caller when an interrupt stopped the encoding

    def token(self, obj: object) -> bytes:
        f = ATOMS.get(type(obj))
        return f(obj) if f is not None else self.node(obj)

    def hexdigest(self, obj: object) -> str:
        tok = self.token(obj)
        return tok[1:].hex() if tok[:1] == b"H" else xxh3_128(tok).hexdigest()

    def node(self, obj: object) -> bytes:
        oid = id(obj)
        hit = self.memo.get(oid)
        if hit is not None:
            return hit[1]
        up = self.active.get(oid)
        if up is not None:
            if up < self.lowest:
                self.lowest = up
            return b"R" + u32(self.depth - up)
        handler = handler_for(type(obj))
        if self.large is not None and handler in DATA_HANDLERS:
            return self.large.token(self, obj)
        return self.compute(obj, handler)[0]

    def compute(self, obj: object, handler: Handler | None = None) -> tuple[bytes, bool]:
        """Encode ``obj`` afresh; returns its token and whether it is context-free (memoizable)."""
        handler = handler or handler_for(type(obj))
        oid = id(obj)
        depth = self.depth + 1
        if depth > MAX_DEPTH:
            raise Unhashable(f"nested deeper than {MAX_DEPTH} levels")
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise Unhashable(f"more than {MAX_NODES:,} objects to hash")
        if self.budget is not None and not self.nodes & 255:
            self.budget.check()
        saved_lowest = self.lowest
        self.active[oid] = depth
        self.depth = self.lowest = depth
        if handler in MUTABLE_HANDLERS:
            self.mutable_nodes += 1
            if self.collect is not None and oid not in self.made:
                self.collect.add(oid)
        try:
            enc = handler(self, obj)
            tok = b"H" + (xxh3_128_digest(enc) if type(enc) is bytes else enc.digest())
        finally:
            del self.active[oid]
            self.depth = depth - 1
            own_lowest = self.lowest
            self.lowest = own_lowest if own_lowest < saved_lowest else saved_lowest
        free = own_lowest >= depth  # no back-reference escapes this node
        if free and len(self.memo) < MEMO_LIMIT:
            self.memo[oid] = (obj, tok)
        return tok, free

    def items(self, items: list[Any] | tuple[Any, ...]) -> bytes:
        """Ordered items; all-str / all-int / all-float runs take a C-speed path."""
        n = len(items)
        if n >= FAST_LIST:
            fast = _fast_items(items, n)
            if fast is not None:
                return fast
        return b"objs" + u64(n) + self._tokens(items)

    def _tokens(self, items: Iterable[Any]) -> bytes:
        atom, node = ATOMS.get, self.node
        return b"".join([f(x) if (f := atom(type(x))) is not None else node(x) for x in items])

    def write_items(self, h: Any, items: list[Any] | tuple[Any, ...]) -> None:
        """``items()`` streamed into ``h`` a chunk at a time."""
        n = len(items)
        if n <= ITEM_CHUNK:
            h.update(self.items(items))
            return
        fast = _fast_items(items, n)
        if fast is not None:
            h.update(fast)
            return
        h.update(b"objs" + u64(n))
        for start in range(0, n, ITEM_CHUNK):
            h.update(self._tokens(items[start : start + ITEM_CHUNK]))

    def mapping(self, pairs: Iterable[tuple[Any, Any]]) -> bytes:
        """Key/value pairs order-independently: sorted digests of (key token, value token)."""
        tok = self.token
        digests = sorted([xxh3_128_digest(tok(k) + tok(v)) for k, v in pairs])
        return u64(len(digests)) + b"".join(digests)

    def set(self, elems: Iterable[Any]) -> bytes:
        tok = self.token
        digests = sorted([xxh3_128_digest(tok(x)) for x in elems])
        return u64(len(digests)) + b"".join(digests)


def _fast_items(items: list[Any] | tuple[Any, ...], n: int) -> bytes | None:
    """Encodings of homogeneous runs of str, float or int that need no Python-level loop."""
    kinds = set(map(type, items))
    if len(kinds) != 1:
        return None
    kind = kinds.pop()
    if kind is str:
        joined = "\0".join(items)  # unambiguous when no item holds a NUL itself
        if joined.count("\0") == n - 1:
            return b"strz" + u64(n) + joined.encode("utf-8", "surrogatepass")
        lengths = array("q", list(map(len, items)))
        text = "".join(items).encode("utf-8", "surrogatepass")
        return b"strs" + u64(n) + _native_le(lengths) + text
    if kind is float:
        floats = array("d", items)
        total = sum(floats)
        if total != total:  # some NaN (or inf - inf): make every NaN the canonical one
            floats = array("d", [x if x == x else float("nan") for x in floats])
        return b"flts" + u64(n) + _native_le(floats)
    if kind is int:
        try:
            return b"ints" + u64(n) + _native_le(array("q", items))
        except OverflowError:
            return None
    return None


def _native_le(a: array) -> bytes:
    if sys.byteorder == "big":
        a.byteswap()
    return a.tobytes()


# ---------------------------------------------------------------- handlers

Handler = Callable[[Encoder, Any], Any]  # returns the xxh3_128 hasher holding the node's encoding


DATA_HANDLERS: set[Handler] = set()  # numpy/pandas objects, which the large-object hook may cache
MUTABLE_HANDLERS: set[Handler] = set()  # objects that can change without their holder changing


def mutable(f: Handler) -> Handler:
    MUTABLE_HANDLERS.add(f)
    return f


@mutable
def _list(enc: Encoder, obj: list[Any]) -> Any:
    if len(obj) <= ITEM_CHUNK:
        return b"#list\0" + enc.items(obj)
    h = xxh3_128(b"#list\0")
    enc.write_items(h, obj)
    return h


def _tuple(enc: Encoder, obj: tuple[Any, ...]) -> Any:
    if len(obj) <= ITEM_CHUNK:
        return b"#tuple\0" + enc.items(obj)
    h = xxh3_128(b"#tuple\0")
    enc.write_items(h, obj)
    return h


@mutable
def _dict(enc: Encoder, obj: dict[Any, Any]) -> Any:
    """Dicts are hashed as mappings, order-independently: ``{1: 2, 3: 4}`` and ``{3: 4, 1: 2}``
    compare equal and hash alike (``OrderedDict``, whose equality is order-sensitive, keeps order)."""
    return b"#dict\0" + enc.mapping(list(obj.items()))


@mutable
def _set(enc: Encoder, obj: set[Any]) -> Any:
    return b"#set\0" + enc.set(list(obj))


def _frozenset(enc: Encoder, obj: frozenset[Any]) -> Any:
    return b"#frozenset\0" + enc.set(obj)


@mutable
def _bytearray(enc: Encoder, obj: bytearray) -> Any:
    return xxh3_128(b"#bytearray\0" + u64(len(obj)) + bytes(obj))


@mutable
def _memoryview(enc: Encoder, obj: memoryview) -> Any:
    h = xxh3_128(b"#memoryview\0" + str_token(obj.format) + str_token(repr(obj.shape)))
    h.update(obj.tobytes())
    return h


def _mappingproxy(enc: Encoder, obj: types.MappingProxyType[Any, Any]) -> Any:
    return b"#mappingproxy\0" + enc.mapping(list(obj.items()))


def _dict_view(enc: Encoder, view: Any) -> Any:
    """``d.keys()`` / ``d.values()`` / ``d.items()``: the kind of view and its dict."""
    return xxh3_128(b"#dictview\0" + str_token(type(view).__name__) + enc.token(view.mapping))


def _refuse(what: str) -> Handler:
    def refuse(enc: Encoder, obj: object) -> Any:
        raise Unhashable(what)

    return refuse


@mutable
def _reduce(enc: Encoder, obj: Any) -> Any:
    """Anything else through ``__reduce_ex__(4)`` (which covers ``__getstate__``, ``__dict__`` and
    ``__slots__``), its parts through this same encoder: never raw pickle bytes, which embed memo
    and set order."""
    if enc.budget is not None:
        enc.budget.check()  # never call a user's reducer past the deadline
    try:
        custom = copyreg.dispatch_table.get(type(obj))
        rv = custom(obj) if custom is not None else obj.__reduce_ex__(4)
    except Unhashable:
        raise
    except BaseException as exc:  # SystemExit, KeyboardInterrupt from a reducer: a marker
        if isinstance(exc, BudgetExceeded) or is_real_interrupt(enc, exc):
            raise
        text = reason(exc)
        if not isinstance(exc, Exception):
            text = f"{type(exc).__name__} raised by __reduce_ex__" + (
                f": {text}" if str(exc) else ""
            )
        raise Unhashable(text) from None
    if isinstance(rv, str):  # a module-level singleton, pickled by name
        mod = getattr(obj, "__module__", None) or type(obj).__module__
        return xxh3_128(b"#global\0" + enc.token((mod, rv)))
    if not isinstance(rv, tuple) or len(rv) < 2:
        raise Unhashable(f"__reduce_ex__ returned {type(rv).__name__}")
    rv = rv + (None,) * (6 - len(rv))
    func, args, state, listitems, dictitems, setter = rv[:6]
    made: tuple[int, ...] = ()
    if isinstance(state, dict):
        state, made = _state_without(state, type(obj))
    h = xxh3_128(b"#object\0")
    enc.made.update(made)
    try:
        h.update(enc.token(func) + enc.token(args) + enc.token(state))
    finally:
        enc.made.difference_update(made)
    h.update(enc.token(list(listitems)) if listitems is not None else b"N")
    if dictitems is None:
        h.update(b"N")
    elif isinstance(obj, collections.OrderedDict):
        h.update(enc.token(list(dictitems)))
    else:
        h.update(b"M" + enc.mapping(list(dictitems)))
    h.update(enc.token(setter))
    return h


def _state_without(state: dict[str, Any], t: type) -> tuple[dict[str, Any], tuple[int, ...]]:
    """``state`` of an object of type ``t`` without what is not its state (``_not_state``), and
    the ids of the dicts made for it (``state`` itself, unchanged, if there is nothing to leave out)."""
    volatile, memos = _not_state(t)
    if not volatile and not memos:
        return state, ()
    out = {k: v for k, v in state.items() if k not in volatile}
    made = [out]
    for where, names in memos.items():
        kept = out.get(where)
        if type(kept) is dict:
            kept = {k: v for k, v in kept.items() if k not in names}
            if kept:
                out[where] = kept
                made.append(kept)
            else:  # as before anything was computed (a lazily made dict)
                del out[where]
    return out, tuple(map(id, made))


NotState = tuple[frozenset[str], dict[str, frozenset[str]]]


def _not_state(t: type) -> NotState:
    """What objects of type ``t`` hold that is not state, worked out once per type: the
    :data:`VOLATILE` attributes, and {name of a dict attribute: the :data:`DERIVED` attributes
    keeping their values in it} (an attribute counts as the nearest class of ``t`` defines it)."""
    found = _not_state_by_type.get(t)
    if found is not None:
        return found
    notebook = t.__module__ == "__main__"  # redefined often: remembered without pinning it
    if notebook and (found := _not_state_notebook.get(t)) is not None:
        return found
    volatile: set[str] = set()
    memos: dict[str, set[str]] = {}
    seen: set[str] = set()
    try:
        for klass in t.__mro__[:-1]:  # not object's
            volatile |= VOLATILE.get(f"{klass.__module__}.{klass.__qualname__}", frozenset())
            for name, attr in vars(klass).items():
                if name in seen:
                    continue
                seen.add(name)
                kind = type(attr)
                field = DERIVED.get(f"{kind.__module__}.{kind.__qualname__}")
                if field is None:
                    continue
                where = getattr(attr, field, None) if field else "_cache"
                if isinstance(where, str):
                    memos.setdefault(where, set()).add(name)
    except Exception:  # an exotic class: everything it holds is state
        volatile, memos = set(), {}
    found = (frozenset(volatile), {k: frozenset(v) for k, v in memos.items()})
    if notebook:
        _not_state_notebook[t] = found
    else:
        _not_state_by_type[t] = found
    return found


_not_state_by_type: dict[type, NotState] = {}
_not_state_notebook: weakref.WeakKeyDictionary[type, NotState] = weakref.WeakKeyDictionary()


_EXACT: dict[type, Handler] = {
    list: _list,
    tuple: _tuple,
    dict: _dict,
    set: _set,
    frozenset: _frozenset,
    bytearray: _bytearray,
    memoryview: _memoryview,
    types.MappingProxyType: _mappingproxy,
    type({}.keys()): _dict_view,
    type({}.values()): _dict_view,
    type({}.items()): _dict_view,
}

_REFUSED: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (types.GeneratorType, "generator"),
    (types.CoroutineType, "coroutine"),
    (types.AsyncGeneratorType, "async generator"),
    (types.FrameType, "frame"),
)

_by_type: dict[type, Handler] = {}


def handler_for(t: type) -> Handler:
    """The handler for objects of type ``t`` (exact types first, then by isinstance, cached)."""
    f = _EXACT.get(t) or _by_type.get(t)
    if f is not None:
        return f
    f = _resolve(t)
    if t.__module__ != "__main__":  # notebook classes get redefined; don't pin each version
        _by_type[t] = f
    return f


# Handlers for code and for array libraries, registered by the package (capture/canonical/__init__),
# which every import of this module runs first: each takes a type and returns a handler or None.
RESOLVERS: list[Callable[[type], Handler | None]] = []


def _resolve(t: type) -> Handler:
    for resolver in RESOLVERS:
        f = resolver(t)
        if f is not None:
            return f
    top = t.__module__.partition(".")[0]
    if top in MACHINERY:
        return _refuse(f"{t.__module__}.{t.__qualname__} (runtime machinery, not data)")
    if top in DISPLAY:
        return _refuse(f"{t.__module__}.{t.__qualname__} (a plot, not data)")
    for kind, what in _REFUSED:
        if issubclass(t, kind):
            return _refuse(what)
    if issubclass(t, io.IOBase) and not issubclass(t, (io.BytesIO, io.StringIO)):
        return _refuse("open file")
    return _reduce
