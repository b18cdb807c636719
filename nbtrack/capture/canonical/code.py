"""Canonical encodings of code: functions and classes by what they do, importable ones by name.

Functions and classes defined in the notebook (``__main__``) are hashed by their code object
(bytecode, constants, names; never file names or line numbers), defaults, closure contents and
class attributes; anything importable as ``module.qualname`` by that name and the module's
version; modules by name and version, not contents.
"""

from __future__ import annotations

import functools
import sys
import types
from typing import Any

from xxhash import xxh3_128

from nbtrack.capture.canonical.encoder import Encoder, Handler, mutable, str_token, u32


def handler_for(t: type) -> Handler | None:
    """The handler for functions, classes, modules, code and descriptors of type ``t``."""
    f = _EXACT.get(t)
    if f is None and issubclass(t, type):
        return _class
    return f


def _module(enc: Encoder, obj: types.ModuleType) -> Any:
    name = obj.__name__
    return xxh3_128(b"#module\0" + str_token(name) + enc.token(module_version(name)))


_code_digests: dict[types.CodeType, bytes] = {}


def _code(enc: Encoder, co: types.CodeType) -> Any:
    """Code by what it does: bytecode, constants (nested code recursively), names; not by
    file name or line numbers, so the same function typed into another cell hashes alike.
    Code is immutable, so its digest is kept (keyed by the code object, whose equality
    covers every field encoded here)."""
    digest = _code_digests.get(co)
    if digest is None:
        parts = (
            co.co_code,
            co.co_consts,
            co.co_names,
            co.co_varnames,
            co.co_freevars,
            co.co_cellvars,
            co.co_argcount,
            co.co_posonlyargcount,
            co.co_kwonlyargcount,
            co.co_flags,
            co.co_name,
            getattr(co, "co_exceptiontable", b""),
        )
        digest = xxh3_128(b"#code\0" + Encoder().token(parts)).digest()
        if len(_code_digests) > 20_000:
            _code_digests.clear()
        _code_digests[co] = digest
    return _Done(digest)


class _Done:
    """A digest computed ahead, standing in for a hasher."""

    __slots__ = ("value",)

    def __init__(self, value: bytes) -> None:
        self.value = value

    def digest(self) -> bytes:
        return self.value


@mutable
def _function(enc: Encoder, fn: types.FunctionType) -> Any:
    ref = importable_name(fn)
    if ref is not None:
        return xxh3_128(b"#funcref\0" + enc.token(ref))
    h = xxh3_128(b"#function\0")
    h.update(enc.token(fn.__qualname__) + enc.token(fn.__code__))
    h.update(enc.token(fn.__defaults__) + enc.token(fn.__kwdefaults__))
    cells = fn.__closure__ or ()
    h.update(u32(len(cells)))
    for cell in cells:
        try:
            h.update(enc.token(cell.cell_contents))
        except ValueError:  # empty cell
            h.update(b"E")
    h.update(enc.token(fn.__dict__) if fn.__dict__ else b"0")
    return h


def _method(enc: Encoder, m: types.MethodType) -> Any:
    return xxh3_128(b"#method\0" + enc.token(m.__func__) + enc.token(m.__self__))


def _builtin(enc: Encoder, fn: types.BuiltinFunctionType) -> Any:
    owner = fn.__self__
    name = getattr(fn, "__qualname__", fn.__name__)
    if owner is None or isinstance(owner, types.ModuleType):
        mod = owner.__name__ if owner is not None else fn.__module__
        return xxh3_128(b"#builtin\0" + enc.token((mod, name)))
    return xxh3_128(b"#boundbuiltin\0" + enc.token(name) + enc.token(owner))


def _descriptor(enc: Encoder, d: Any) -> Any:
    parts = (type(d).__name__, getattr(d, "__objclass__", None), getattr(d, "__name__", None))
    h = xxh3_128(b"#descriptor\0" + enc.token(parts))
    if hasattr(d, "__self__"):
        h.update(enc.token(d.__self__))
    return h


def _wrapper(enc: Encoder, d: Any) -> Any:
    """staticmethod / classmethod / cached_property: the wrapped function."""
    inner = getattr(d, "__func__", None) or getattr(d, "func", None)
    return xxh3_128(b"#wrapper\0" + str_token(type(d).__name__) + enc.token(inner))


def _property(enc: Encoder, p: property) -> Any:
    return xxh3_128(b"#property\0" + enc.token((p.fget, p.fset, p.fdel, p.__doc__)))


# bookkeeping that Python adds lazily (so it would make a class's hash depend on its history)
_CLASS_SKIP = frozenset({"__dict__", "__weakref__", "_abc_impl", "__slotnames__"})


@mutable
def _class(enc: Encoder, cls: type) -> Any:
    ref = importable_name(cls)
    if ref is not None:
        return xxh3_128(b"#classref\0" + enc.token(ref))
    h = xxh3_128(b"#class\0")
    meta = type(cls)
    h.update(enc.token(cls.__qualname__) + enc.token(cls.__bases__))
    h.update(enc.token(meta) if meta is not type else b"N")
    attrs = [(k, v) for k, v in vars(cls).items() if k not in _CLASS_SKIP]
    h.update(enc.mapping([(k, v) for k, v in attrs if k != "__annotations__" or v]))
    return h


_EXACT: dict[type, Handler] = {
    type: _class,
    types.ModuleType: _module,
    types.CodeType: _code,
    types.FunctionType: _function,
    types.MethodType: _method,
    types.BuiltinFunctionType: _builtin,
    types.MethodDescriptorType: _descriptor,
    types.WrapperDescriptorType: _descriptor,
    types.MethodWrapperType: _descriptor,
    types.ClassMethodDescriptorType: _descriptor,
    types.GetSetDescriptorType: _descriptor,
    types.MemberDescriptorType: _descriptor,
    staticmethod: _wrapper,
    classmethod: _wrapper,
    functools.cached_property: _wrapper,
    property: _property,
}


# ---------------------------------------------------------------- names and versions


def importable_name(obj: Any) -> tuple[str, str, str | None] | None:
    """(module, qualname, module version) when ``obj`` is reachable as ``module.qualname``;
    None for things defined in ``__main__``, in a function, or otherwise not importable."""
    mod = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if not isinstance(mod, str) or not isinstance(qualname, str) or mod == "__main__":
        return None
    if "<" in qualname or mod not in sys.modules:
        return None
    found: Any = sys.modules[mod]
    try:
        for part in qualname.split("."):
            found = getattr(found, part)
    except Exception:
        return None
    return (mod, qualname, module_version(mod)) if found is obj else None


_versions: dict[str, str | None] = {}


def module_version(name: str) -> str | None:
    """``__version__`` of the module or its top-level package, else its distribution's version;
    None for the standard library (the Python version is recorded with the environment)."""
    if name in _versions:
        return _versions[name]
    top = name.partition(".")[0]
    version: Any = None
    if top not in sys.stdlib_module_names and top not in sys.builtin_module_names:
        for candidate in (name, top):
            version = getattr(sys.modules.get(candidate), "__version__", None)
            if isinstance(version, str):
                break
        else:
            try:
                from importlib import metadata

                version = metadata.version(top)
            except Exception:
                version = None
    _versions[name] = version if isinstance(version, str) else None
    return _versions[name]
