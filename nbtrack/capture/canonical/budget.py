"""The per-cell hashing budget: time and bytes, so hashing never stalls a cell.

``NBTRACK_HASH_SECONDS`` (default 2.0) bounds the time spent hashing a namespace after a cell and
``NBTRACK_HASH_BYTES`` (default 4 GiB) the array/DataFrame bytes read for it; a value whose
hashing runs past either gets the marker ``unhashable:budget-exceeded ...``. The encoder checks
the clock between nodes and chunks and never calls ``__reduce_ex__`` once past the deadline; in
the main thread a SIGALRM timer (armed only when no one else uses SIGALRM) also interrupts
Python code that runs long inside one call (a ``__reduce_ex__`` that sleeps). What stays
unbounded: one long call in C that does not return to the interpreter (a C extension's reducer,
a single xxh3 pass over one buffer smaller than the byte budget).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any

DEFAULT_SECONDS = 2.0
DEFAULT_BYTES = 4 << 30
MARKER = "budget-exceeded"


class BudgetExceeded(BaseException):
    """Raised inside the encoder past the budget (a BaseException: a user's ``except Exception``
    inside ``__reduce_ex__`` must not swallow it)."""


def _env_float(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, ""))
    except ValueError:
        return default
    return value if value > 0 else default


class Budget:
    """Time and bytes left for hashing one namespace."""

    def __init__(self, seconds: float | None = None, nbytes: float | None = None) -> None:
        self.seconds = (
            seconds if seconds is not None else _env_float("NBTRACK_HASH_SECONDS", DEFAULT_SECONDS)
        )
        self.nbytes = (
            nbytes if nbytes is not None else _env_float("NBTRACK_HASH_BYTES", DEFAULT_BYTES)
        )
        self.deadline = time.perf_counter() + self.seconds
        self.bytes_left = self.nbytes
        self.exceeded = False
        self.inside = False  # the alarm raises only while the encoder runs
        self.sigint = False  # a real interrupt (SIGINT) arrived while hashing
        self._previous_int: Any = None
        self._armed = False
        self._previous: Any = None

    def check(self) -> None:
        if self.exceeded or time.perf_counter() > self.deadline:
            self.exceeded = True
            raise BudgetExceeded(f"past the hashing budget of {self.seconds:g} s per cell")

    def spend(self, nbytes: int) -> None:
        """Account for ``nbytes`` about to be read; raises when they would not fit."""
        self.check()
        if nbytes > self.bytes_left:
            raise BudgetExceeded(
                f"{nbytes:,} bytes past the hashing budget of {self.nbytes:,.0f} bytes per cell"
            )
        self.bytes_left -= nbytes

    # ------------------------------------------------------------ the alarm

    def arm(self) -> None:
        """Interrupt Python code still running at the deadline (main thread, SIGALRM free)."""
        if threading.current_thread() is not threading.main_thread() or not hasattr(
            signal, "setitimer"
        ):
            return
        try:
            if signal.getsignal(signal.SIGALRM) not in (signal.SIG_DFL, None):
                return
            if signal.getitimer(signal.ITIMER_REAL)[0]:
                return
            previous_int = signal.getsignal(signal.SIGINT)
            if callable(previous_int):  # tell a real interrupt from a KeyboardInterrupt raised
                self._previous_int = previous_int
                signal.signal(signal.SIGINT, self._interrupt)
            self._previous = signal.signal(signal.SIGALRM, self._ring)
            self._armed = True
            signal.setitimer(
                signal.ITIMER_REAL, max(0.001, self.deadline - time.perf_counter()) + 0.01
            )
        except (ValueError, OSError):
            self._armed = False

    def disarm(self) -> None:
        if not self._armed:
            return
        self._armed = False
        try:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._previous or signal.SIG_DFL)
            if self._previous_int is not None:
                signal.signal(signal.SIGINT, self._previous_int)
                self._previous_int = None
        except (ValueError, OSError):
            pass

    def _interrupt(self, signum: int, frame: Any) -> Any:
        self.sigint = True
        return self._previous_int(signum, frame)

    def _ring(self, signum: int, frame: Any) -> None:
        if self._armed:
            self.exceeded = True  # the next check raises
            if self.inside:
                raise BudgetExceeded(f"past the hashing budget of {self.seconds:g} s per cell")
