"""Where runs live: SQL metadata (SQLite or PostgreSQL) plus content-addressed blobs.

:class:`Store` (and with it SQLAlchemy, ~170 ms to import) is imported on first use, so
``%load_ext nbtrack`` does not pay for it before the store is opened.
"""

from __future__ import annotations

import atexit
import os
import threading
from typing import TYPE_CHECKING, Any

from nbtrack.store.records import CellRecord, FileEvent
from nbtrack.store.urls import DEFAULT_DIR, mask_url, no_store_error, resolve_url

if TYPE_CHECKING:
    from nbtrack.store.sql import Store

__all__ = [
    "DEFAULT_DIR",
    "CellRecord",
    "FileEvent",
    "Store",
    "mask_url",
    "no_store_error",
    "open_store",
    "opened_stores",
    "resolve_url",
]


_open: dict[str, Store] = {}
# one lock per URL: a kernel opens its store in a thread while a cell may open it too
_open_locks: dict[str, threading.Lock] = {}


def __getattr__(name: str) -> Any:
    if name == "Store":
        from nbtrack.store.sql import Store

        globals()["Store"] = Store
        return Store
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def open_store(url: Store | str | os.PathLike[str] | None = None, *, create: bool = True) -> Store:
    """The one resolver of "a Store, a path or a URL": a Store is returned as it is; otherwise the
    store at ``url`` (see :func:`resolve_url`) is opened, and cached per process. Only ``create``
    makes a new store where there is none."""
    from nbtrack.store.sql import Store

    if isinstance(url, Store):
        return url
    key = resolve_url(url)
    store = _open.get(key)
    if store is not None and not store.closed:
        return store
    with _open_locks.setdefault(key, threading.Lock()):  # one Store per URL, whoever opens it
        store = _open.get(key)
        if store is None or store.closed:
            store = _open[key] = Store(key, create=create)
        return store


def opened_stores() -> list[Store]:
    """The stores this process has opened through :func:`open_store` (still open or not)."""
    return list(_open.values())


@atexit.register
def _close_at_exit() -> None:
    """Every store this process opened is closed at exit: a writable SQLite store gets
    ``PRAGMA optimize`` (approximate, milliseconds), so the next process's first search has
    the planner statistics of the queries this one ran."""
    for store in list(_open.values()):
        try:
            if not store.closed:
                store.close()
        except Exception:
            pass
