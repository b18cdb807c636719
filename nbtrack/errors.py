"""The one exception hierarchy of nbtrack, and the warning used when the tracker itself fails."""

from __future__ import annotations

import warnings


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
    warnings.warn_explicit(line, NbtrackWarning, filename="nbtrack", lineno=0, module="nbtrack")
