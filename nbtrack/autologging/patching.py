"""Safe patches: a library's training function wrapped so that nbtrack's logging can never change
what the function does.

- The original is called with the user's arguments (plus, at most, one callback appended that
  swallows its own errors), and its return value or exception passes through untouched.
- Any exception in nbtrack's code before or after it is one ``NbtrackWarning`` line.
- Only the outermost training call logs: fits made inside a fit (a Pipeline's steps, a grid
  search's candidates, ``XGBClassifier.fit`` calling ``xgboost.train``) run unpatched, in any
  thread, while the outer one runs.
- ``unpatch`` puts back the very attributes that were there.
"""

from __future__ import annotations

import copy
import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from nbtrack.errors import warn_failure


class FitLogger:
    """What one flavor logs around one training call. ``prepare`` may return changed arguments
    (e.g. a callback added); ``finished`` and ``failed`` see the outcome."""

    def prepare(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[tuple, dict]:
        return args, kwargs

    def finished(self, result: Any) -> None:
        pass

    def failed(self, exc: BaseException) -> None:
        pass


@dataclass
class Patch:
    library: str
    owner: Any
    name: str
    original: Any
    wrapper: Any


_patches: list[Patch] = []
_lock = threading.Lock()
_depth = 0  # training calls running now, in any thread: only the outermost logs


@contextmanager
def _inside() -> Iterator[None]:
    global _depth
    with _lock:
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1


def guarded(what: str, fn: Callable[..., Any], *args: Any) -> Any:
    """Call ``fn``; an exception becomes one warning line and ``None``."""
    try:
        return fn(*args)
    except Exception as exc:
        warn_failure(f"autolog: {what}", exc)
        return None


def patch(
    library: str,
    owner: Any,
    name: str,
    make_logger: Callable[..., FitLogger | None],
    enabled: Callable[[], bool],
) -> None:
    """Wrap ``owner.name`` (a function of a module or a method defined on a class). While
    ``enabled()``, each outermost call gets a logger from ``make_logger(*args, **kwargs)``
    (``None``: nothing to log). A method behind scikit-learn's ``available_if`` (a descriptor
    holding the function as ``fn``, as ``Pipeline.fit_transform``) is wrapped inside a copy of
    its descriptor."""
    original = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
    fn = original if callable(original) else getattr(original, "fn", None)
    if not callable(fn) or getattr(fn, "__nbtrack_patch__", False):
        return

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if _depth or not enabled():
            return fn(*args, **kwargs)
        with _inside():  # what the logger itself fits (log_loss's LabelBinarizer) logs nothing
            logger = guarded(
                f"could not start logging {qualname}", lambda: make_logger(*args, **kwargs)
            )
            call = (args, kwargs)
            if logger is not None:
                call = (
                    guarded(f"could not prepare {qualname}", logger.prepare, args, kwargs) or call
                )
            try:
                result = fn(*call[0], **call[1])
            except BaseException as exc:
                if logger is not None:
                    guarded(f"could not log the failure of {qualname}", logger.failed, exc)
                raise
            if logger is not None:
                guarded(f"could not log {qualname}", logger.finished, result)
            return result

    qualname = f"{getattr(owner, '__name__', owner)}.{name}"
    wrapper.__nbtrack_patch__ = True  # type: ignore[attr-defined]
    replacement: Any = wrapper
    if fn is not original:
        replacement = copy.copy(original)
        replacement.fn = wrapper
    setattr(owner, name, replacement)
    _patches.append(Patch(library, owner, name, original, replacement))


def unpatch(library: str) -> None:
    """Restore every attribute ``patch`` replaced for ``library`` (left alone if someone else
    has replaced it since)."""
    for p in [p for p in _patches if p.library == library]:
        current = p.owner.__dict__.get(p.name) if isinstance(p.owner, type) else None
        if not isinstance(p.owner, type):
            current = getattr(p.owner, p.name, None)
        if current is p.wrapper:
            setattr(p.owner, p.name, p.original)
        _patches.remove(p)


def patched(library: str) -> bool:
    return any(p.library == library for p in _patches)
