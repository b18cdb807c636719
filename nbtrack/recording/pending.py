"""What the store could not take yet: outages, the bounded waits of the user's thread, and the
one backlog of pending writes (cell records, closed runs, the session's environment) that a
background thread retries until the store takes them.

One warning per outage. A store that another writer merely holds (a lock or busy timeout) is
not an outage yet: the records go to the backlog silently, and the warning comes only if they
are still unwritten ``OUTAGE_GRACE`` seconds later. Anything else (disk full, read-only, store
gone) is reported at once.
"""

from __future__ import annotations

import os
import threading
import time
from typing import TYPE_CHECKING, Protocol

from nbtrack.errors import deferring_warnings, warn_failure
from nbtrack.store.failures import is_transient

if TYPE_CHECKING:
    from nbtrack.store import Store

# Longest a kernel cell waits for a store another process holds; then records stay in memory.
WRITE_WAIT = float(os.environ.get("NBTRACK_WRITE_WAIT", "2"))
PROBE_WAIT = 0.05  # the same while the store is known to be failing: a quick try, no stall
RETRY_WAIT = 10.0  # background retries, off the user's thread
RETRY_INTERVAL = 0.5
# How long a merely locked store may keep records waiting before it counts as an outage.
OUTAGE_GRACE = float(os.environ.get("NBTRACK_OUTAGE_GRACE", "5"))


# -- outages: one warning each -------------------------------------------------------------
class _Outage:
    __slots__ = ("since", "cause", "warned")

    def __init__(self, cause: BaseException):
        self.since = time.monotonic()
        self.cause = cause
        self.warned = False


_outages: dict[str, _Outage] = {}  # by store url
_outage_lock = threading.Lock()
_kernel_stores: set[str] = set()
_checked_stores: set[str] = set()  # kernel stores whose file was checked for damage
# Set by a run past its memory bound: the flusher writes at once instead of at its next tick.
flush_soon = threading.Event()


def store_failed(store: Store, what: str, exc: BaseException) -> None:
    """Report that ``store`` cannot be written: one warning line per outage, however many
    records are kept in memory meanwhile; none yet if another writer only holds the lock."""
    with _outage_lock:
        outage = _outages.get(store.url)
        if outage is None:
            outage = _outages[store.url] = _Outage(exc)
        if outage.warned:
            return
        if is_transient(exc):
            outage.cause = exc  # check_grace warns if it lasts
            return
        outage.warned = True
    _warn(store.url, exc)


def store_recovered(store: Store) -> None:
    _outages.pop(store.url, None)


def store_failing(store: Store) -> bool:
    return store.url in _outages


def check_grace() -> None:
    """Warn about stores that have been refusing writes for longer than ``OUTAGE_GRACE``
    (called after each kernel cell, and by the background threads outside a kernel)."""
    if not _outages:
        return
    now = time.monotonic()
    due = []
    with _outage_lock:
        for url, outage in _outages.items():
            if not outage.warned and now - outage.since >= OUTAGE_GRACE:
                outage.warned = True
                due.append((url, outage.cause))
    for url, cause in due:
        _warn(url, cause)


def background_check() -> None:
    """For the background threads: in a kernel the next cell checks the grace period (its
    own write may succeed first); elsewhere nobody else would."""
    if not deferring_warnings():
        check_grace()


def _warn(url: str, exc: BaseException) -> None:
    from nbtrack.store import mask_url

    cause = getattr(exc, "orig", None) or exc  # a database error without its SQL and parameters
    # the same text for the same cause, so a store that comes and goes is reported once
    warn_failure(
        f"cannot write to the store {mask_url(url)}; records are kept in memory and written when it is writable again",
        cause,
    )


# -- how long the user's thread may wait ----------------------------------------------------
def mark_kernel_store(store: Store) -> None:
    """``store`` is written from a kernel: bounded waits, and its file checked once for
    damage off the user's thread (a kernel would otherwise write into a malformed file and
    say nothing)."""
    if store.url in _checked_stores:
        return
    _checked_stores.add(store.url)
    _kernel_stores.add(store.url)
    if store.is_sqlite:
        threading.Thread(
            target=_check_damage, args=(store,), name="nbtrack-check", daemon=True
        ).start()


def mark_kernel_url(url: str) -> None:
    """The store at ``url`` (resolved) is written from a kernel, known before it is opened:
    a run started while the kernel opens it belongs to the kernel's session."""
    _kernel_stores.add(url)


QUICK_CHECK_MAX_BYTES = 256 * 2**20  # a larger file gets the header check only at kernel start


def _check_damage(store: Store) -> None:
    from nbtrack.store.durability import store_damage

    try:
        big = os.path.getsize(store.db_path) > QUICK_CHECK_MAX_BYTES
        problem = store_damage(store, quick=not big)
    except Exception:
        return
    if problem:
        warn_failure(
            f"the store {store.db_path} is damaged ({problem}); what is written into it may be lost: "
            f"run `nbtrack doctor --salvage NEW_FOLDER` to rebuild it from what is readable"
        )


def in_kernel(store: Store) -> bool:
    return store.url in _kernel_stores


def hot_wait(store: Store) -> float:
    """How long the user's thread may wait for ``store``: in a kernel, at most WRITE_WAIT and
    a quick probe during an outage, so cells do not stall; a script can wait longer."""
    if store.url not in _kernel_stores:
        return RETRY_WAIT
    return PROBE_WAIT if store.url in _outages else WRITE_WAIT


# -- the backlog -----------------------------------------------------------------------------
class Pending(Protocol):
    """Something holding writes its store has not taken yet (a cell queue, a run, a session)."""

    store: Store

    def flush(self, wait: float | None = ...) -> bool:
        """Write what is held, waiting at most about ``wait`` s; True when nothing is left."""
        ...


class Backlog:
    """Everything waiting for the store, oldest first, and the one thread that retries it
    every ``RETRY_INTERVAL`` seconds while anything is left."""

    def __init__(self) -> None:
        self._items: list[Pending] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def __len__(self) -> int:
        return len(self._items)

    def items(self, of: type | None = None) -> list[Pending]:
        return [i for i in self._items if of is None or isinstance(i, of)]

    def keep(self, item: Pending) -> None:
        """Hold ``item`` until its flush succeeds."""
        with self._lock:
            if not any(i is item for i in self._items):
                self._items.append(item)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._retry_loop, name="nbtrack-backlog", daemon=True
                )
                self._thread.start()

    def flush(self, wait: float | None = RETRY_WAIT, of: type | None = None) -> bool:
        """Write what the stores take, oldest first, waiting at most ``wait`` once per store
        (after one refusal the rest of that store's items wait for the next round); True
        when nothing (of type ``of``) is left."""
        refused: set[str] = set()
        for item in self.items(of):
            if item.store.url in refused:
                continue
            try:
                done = item.flush(wait)
            except Exception as exc:  # a bug, not the store: say so, keep the item
                warn_failure("background write failed", exc)
                done = False
            if done:
                with self._lock:
                    self._items = [i for i in self._items if i is not item]
            else:
                refused.add(item.store.url)
        return not self.items(of)

    def _retry_loop(self) -> None:
        while True:
            time.sleep(RETRY_INTERVAL)
            self.flush(RETRY_WAIT)
            background_check()
            with self._lock:
                if not self._items:
                    self._thread = None
                    return


backlog = Backlog()
