"""What a store error means for the writer: it passes (another writer holds the store: a
retry gets past it), it stays until someone acts (disk full, read-only, store gone), or the
row is already there (a write whose answer was lost). One test of each, used by the store's
retry loop and by the recorder's backlog alike.
"""

from __future__ import annotations

from nbtrack.errors import StoreError

# PostgreSQL SQLSTATEs a retried transaction can get past: serialization failure, deadlock, lock timeout
PG_TRANSIENT = ("40001", "40P01", "55P03")
_WORDS = ("locked", "busy", "lock timeout", "serializ", "deadlock")


class StoreBusyError(StoreError):
    """This process's other threads held the store for longer than the caller would wait."""


def is_transient(exc: BaseException) -> bool:
    """The store is only held by another writer (SQLite's write lock, a PostgreSQL lock
    timeout, deadlock or serialization failure, another thread of this process): the same
    write succeeds once that one is done."""
    from sqlalchemy.exc import OperationalError

    if isinstance(exc, StoreBusyError):
        return True
    if not isinstance(exc, OperationalError):
        return False
    if getattr(exc.orig, "sqlstate", None) in PG_TRANSIENT:
        return True
    text = str(exc.orig).lower()
    return any(word in text for word in _WORDS)


def is_store_failure(exc: BaseException) -> bool:
    """The store cannot be written now (full, read-only, gone, locked), as opposed to a bug."""
    from sqlalchemy.exc import OperationalError

    return isinstance(exc, (OSError, StoreError, OperationalError))


def is_duplicate(exc: BaseException) -> bool:
    """The rows are already there: an earlier attempt was written but its answer was lost."""
    from sqlalchemy.exc import IntegrityError

    return isinstance(exc, IntegrityError)
