"""The spill journal: metric points a run cannot keep in memory while the store refuses writes.

Past the memory bound (``NBTRACK_BUFFER_POINTS``) the user's thread hands the oldest points
to one background thread and carries on; that thread appends them to a journal file
(:mod:`nbtrack.store.spill`: one JSON line per batch, fsynced per batch, beside the store or
in a per-user state folder when the store's folder cannot take it). The run's next background flush replays the file into the store in one
transaction and removes it. If even the journal cannot be written (both places full or
read-only), or the thread falls behind by more than ``MAX_QUEUED`` points, points are dropped
and counted, never waited for: one warning says how many.
"""

from __future__ import annotations

import collections
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from nbtrack.errors import warn_failure
from nbtrack.store import spill

if TYPE_CHECKING:
    from nbtrack.store import Store

Point = tuple[str, float, int, float, "int | None"]
MAX_QUEUED = int(os.environ.get("NBTRACK_JOURNAL_QUEUE_POINTS", "1000000"))


class Journal:
    """The points of one run that went past memory: handed over (``queued``), then on disk."""

    def __init__(self, run_id: str, store: Store):
        self.run_id = run_id
        self.folders = spill.folders(store)
        self.files: list[str] = []  # written to, oldest first
        self.queued: collections.deque[list[Point]] = collections.deque()
        self.queued_points = 0
        self.on_disk = 0
        self.dropped = 0
        self.warned = False
        self.lock = threading.Lock()  # queued and counts
        self.file_lock = threading.Lock()  # the files: one writer or replayer at a time

    def pending(self) -> int:
        """Points waiting for the store, in memory or on disk."""
        return self.queued_points + self.on_disk

    # -- the user's thread ---------------------------------------------------------------
    def spill(self, points: list[Point]) -> None:
        """Hand ``points`` over (no I/O here); dropped with a count when too many wait."""
        with self.lock:
            if self.queued_points + len(points) > MAX_QUEUED:
                self.dropped += len(points)
                dropped = True
            else:
                self.queued.append(points)
                self.queued_points += len(points)
                dropped = False
        if dropped:
            _warn_dropped(self)
        else:
            _writer.wake(self)

    # -- the journal thread --------------------------------------------------------------
    def write_queued(self) -> None:
        with self.file_lock:
            while True:
                with self.lock:
                    if not self.queued:
                        return
                    batch = self.queued[0]
                if not self._append(batch):
                    with self.lock:  # nowhere to put it: dropped, counted
                        if self.queued and self.queued[0] is batch:
                            self.queued.popleft()
                            self.queued_points -= len(batch)
                            self.dropped += len(batch)
                    _warn_dropped(self)
                    continue
                with self.lock:
                    if self.queued and self.queued[0] is batch:
                        self.queued.popleft()
                        self.queued_points -= len(batch)
                        self.on_disk += len(batch)
                if not self.warned:
                    self.warned = True
                    warn_failure(
                        f"the store does not take writes: metric points of run {self.run_id[:8]} "
                        f"past the memory bound wait in the journal {self.files[-1]} "
                        f"({self.pending():,} points so far) and are written to the store when it is back"
                    )

    def _append(self, batch: list[Point]) -> bool:
        for folder in self.folders:
            path = os.path.join(folder, spill.file_name(self.run_id))
            try:
                spill.append(path, batch)
            except OSError:
                continue
            if path not in self.files:
                self.files.append(path)
            return True
        return False

    # -- the run's background flush ------------------------------------------------------
    def replay(self, write: Callable[[list[list[Point]]], None]) -> None:
        """Write everything waiting through ``write`` (one transaction for all the batches);
        on success the files are removed. Raises what ``write`` raises, keeping everything."""
        with self.file_lock:
            with self.lock:
                queued = list(self.queued)
                self.queued.clear()
                self.queued_points = 0
            batches: list[list[Point]] = []
            for path in self.files:
                try:
                    batches.extend(spill.batches(path))
                except OSError:
                    continue
            try:
                write(batches + queued)  # type: ignore[arg-type]
            except BaseException:
                with self.lock:
                    self.queued.extendleft(reversed(queued))
                    self.queued_points += sum(len(b) for b in queued)
                raise
            for path in self.files:
                try:
                    os.remove(path)
                except OSError:
                    pass
            self.files = []
            with self.lock:
                self.on_disk = 0
            self.warned = False


def _warn_dropped(journal: Journal) -> None:
    warn_failure(
        f"metric points of run {journal.run_id[:8]} were dropped: the store does not take writes "
        f"and neither memory nor the journal can hold more; dropped: {_rounded(journal.dropped)}"
    )


def _rounded(n: int) -> str:
    """The dropped count, rounded to a power of ten so a growing count warns a few times, not
    once per batch."""
    magnitude = 10 ** max(0, len(str(n)) - 1)
    return f"at least {n // magnitude * magnitude:,}"


class _Writer:
    """The one thread that puts handed-over points on disk."""

    def __init__(self) -> None:
        self.waiting: collections.deque[Journal] = collections.deque()
        self.event = threading.Event()
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()

    def wake(self, journal: Journal) -> None:
        self.waiting.append(journal)
        self.event.set()
        with self.lock:
            if self.thread is None:
                self.thread = threading.Thread(
                    target=self._loop, name="nbtrack-journal", daemon=True
                )
                self.thread.start()

    def _loop(self) -> None:
        while True:
            self.event.wait()
            self.event.clear()
            while self.waiting:
                journal = self.waiting.popleft()
                try:
                    journal.write_queued()
                except Exception as exc:  # never let the thread die
                    warn_failure("the journal could not be written", exc)

    def drain(self) -> None:
        """Write everything handed over now (at exit)."""
        while self.waiting:
            self.waiting.popleft().write_queued()


_writer = _Writer()
journals: dict[str, Journal] = {}


def journal_of(run_id: str, store: Store) -> Journal:
    j = journals.get(run_id)
    if j is None:
        j = journals[run_id] = Journal(run_id, store)
    return j


def pending(run_id: str) -> int:
    j = journals.get(run_id)
    return j.pending() if j is not None else 0


def drain() -> None:
    _writer.drain()


def spill_at_exit(run_id: str, store: Store, points: list[Point]) -> str | None:
    """At exit, with the store still refusing: put a run's points on disk (returns the
    journal file, None when it could not be written) for ``nbtrack doctor --repair``."""
    j = journal_of(run_id, store)
    if points:
        j.spill(points)
    j.write_queued()
    return j.files[-1] if j.files and not j.queued else None
