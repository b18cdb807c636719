"""The one exception hierarchy of nbtrack, and the warning used when the tracker itself fails."""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections.abc import Iterator


class NbtrackError(Exception):
    """Base class of every error nbtrack raises on purpose."""


class ValidationError(NbtrackError, ValueError):
    """A value given to the API or CLI is not acceptable; the message names it and what would be."""


class NotFoundError(NbtrackError, LookupError):
    """A run, experiment or blob that was asked for does not exist (or a prefix is ambiguous)."""


class StoreError(NbtrackError):
    """The store cannot be opened or written (missing, newer schema, read-only, corrupt)."""


class NbtrackWarning(UserWarning):
    """Issued when the tracker fails internally; the user's code carries on unaffected."""


def warn_failure(what: str, exc: BaseException | None = None) -> None:
    """Report an internal failure as one warning line (``nbtrack: NbtrackWarning: ...``).

    Goes through :mod:`warnings` so test suites can turn it into an error, with a fake
    location so the line is not followed by a source excerpt.
    """
    detail = f": {type(exc).__name__}: {exc}" if exc is not None else ""
    line = f"{what}{detail}".replace("\n", " ")[:500]
    if _later or (_owner is not None and threading.get_ident() != _owner):
        if line not in deferred:  # one line per failure, however often a thread retries
            deferred.append(line)
        return
    _warn(line)


def _warn(line: str) -> None:
    warnings.warn_explicit(
        line, NbtrackWarning, filename="nbtrack", lineno=0, module="nbtrack", registry=_registry
    )


_registry: dict[
    str | tuple[str, type[Warning], int], int
] = {}  # the default filter shows each distinct line once

# In a kernel, a background thread's output lands in whichever cell ran last, or in none: its
# warnings wait here until the kernel's thread shows them in the next cell (emit_deferred).
_owner: int | None = None
_later = False
deferred: list[str] = []


def defer_thread_warnings(on: bool) -> None:
    """From now on (``on``), warnings raised by threads other than the calling one wait for
    :func:`emit_deferred`; off, they go straight to :mod:`warnings` again (queued ones too)."""
    global _owner
    _owner = threading.get_ident() if on else None
    if not on:
        emit_deferred()


@contextlib.contextmanager
def later_warnings() -> Iterator[None]:
    """Within this block, warnings of the calling thread also wait for :func:`emit_deferred`:
    work done after a cell's reply shows its warnings in the next cell."""
    global _later
    _later = True
    try:
        yield
    finally:
        _later = False


def deferring_warnings() -> bool:
    return _owner is not None


def emit_deferred() -> None:
    """Show the warnings background threads queued, each once (called on the kernel's thread)."""
    while deferred:
        _warn(deferred.pop(0))


class QueryError(ValidationError):
    """A search filter or order-by string that does not parse or does not type-check.

    ``column`` (1-based) and ``line`` point at the bad token, ``position`` is its 0-based offset
    in the whole text; the message repeats the offending line (at most ``SHOWN`` characters of
    it, around the token) with a caret under the token.
    """

    SHOWN = 160

    def __init__(
        self,
        reason: str,
        text: str = "",
        position: int = 0,
        length: int = 1,
        hint: str | None = None,
    ):
        self.reason = reason
        self.text = text
        self.position = max(0, min(position, len(text)))
        self.hint = hint
        start = text.rfind("\n", 0, self.position) + 1
        stop = text.find("\n", self.position)
        line_text = text[start : stop if stop >= 0 else len(text)]
        self.line = text.count("\n", 0, self.position) + 1
        self.column = self.position - start + 1
        where = (
            f"column {self.column}"
            if "\n" not in text
            else f"line {self.line}, column {self.column}"
        )
        # a long line is shown from a little before the bad token, at most SHOWN characters
        cut = max(0, self.column - 1 - 40) if len(line_text) > self.SHOWN else 0
        shown = line_text[cut : cut + self.SHOWN]
        caret = " " * (self.column - 1 - cut) + "^" * max(
            1, min(length, len(shown) - (self.column - 1 - cut))
        )
        if cut:
            shown, caret = "..." + shown, "   " + caret
        if cut + self.SHOWN < len(line_text):
            shown += "..."
        message = f"{reason} (at {where})\n  {shown}\n  {caret}"
        if hint:
            message += f"\nhint: {hint}"
        super().__init__(message)
