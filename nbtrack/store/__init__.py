"""Where runs live: SQL metadata (SQLite or PostgreSQL) plus content-addressed blobs."""

from __future__ import annotations

import os

from .sql import DEFAULT_DIR, Store

__all__ = ["Store", "open_store", "resolve_url"]


def resolve_url(url: str | os.PathLike[str] | None = None) -> str:
    """The store to use: the argument, else ``NBTRACK_STORE``, else ``./.nbtrack``."""
    chosen = os.fspath(url) if url else os.environ.get("NBTRACK_STORE") or DEFAULT_DIR
    if "://" in chosen:
        return chosen
    return os.path.abspath(os.path.expanduser(chosen))


_open: dict[str, Store] = {}


def open_store(url: str | os.PathLike[str] | None = None, *, create: bool = True) -> Store:
    """Open (and cache per process) the store at ``url``; see :func:`resolve_url`."""
    key = resolve_url(url)
    store = _open.get(key)
    if store is None or store.closed:
        store = _open[key] = Store(key, create=create)
    return store
