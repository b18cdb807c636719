"""The runs open now, innermost last, and the background thread that writes them every
``FLUSH_INTERVAL`` seconds (sampling system metrics every ``SYSTEM_INTERVAL``); runs still
open when the process exits are ended then, and what could not be saved is said out loud."""

from __future__ import annotations

import atexit
import os
import threading
import time

from nbtrack.errors import warn_failure
from nbtrack.recording.journal import drain as drain_journal
from nbtrack.recording.journal import pending as journal_pending
from nbtrack.recording.journal import spill_at_exit
from nbtrack.recording.pending import RETRY_WAIT, background_check, backlog, flush_soon
from nbtrack.recording.run import Run

FLUSH_INTERVAL = 0.5
SYSTEM_INTERVAL = float(os.environ.get("NBTRACK_SYSTEM_METRICS_INTERVAL", "5"))

active_runs: list[Run] = []
_lock = threading.Lock()
_flusher: threading.Thread | None = None


def register(run: Run) -> None:
    """Put ``run`` on the stack (it leaves when it ends) and start the flusher if need be."""
    global _flusher
    run._on_end = unregister
    with _lock:
        active_runs.append(run)
        if _flusher is None:
            _flusher = threading.Thread(target=_flush_loop, name="nbtrack-flusher", daemon=True)
            _flusher.start()


def unregister(run: Run) -> None:
    with _lock:
        if run in active_runs:
            active_runs.remove(run)


def _flush_loop() -> None:
    last_sample = 0.0
    while True:
        flush_soon.wait(FLUSH_INTERVAL)
        flush_soon.clear()
        now = time.time()
        sample = now - last_sample >= SYSTEM_INTERVAL
        if sample:
            last_sample = now
        for run in list(active_runs):
            try:
                if sample and run.system_metrics:
                    run._sample_system()
                run.flush()
            except Exception as exc:  # never let the thread die
                warn_failure("background flush failed", exc)
        background_check()


def flush_active(wait: float | None = RETRY_WAIT) -> None:
    """Write what every open run keeps in memory (the kernel calls this after each cell)."""
    for run in list(active_runs):
        run.flush(wait)


@atexit.register
def _end_at_exit() -> None:
    """Runs still open when a script exits have finished; in a kernel, shutting it down or
    restarting it cut them short: killed. Then the stores this process wrote are tidied:
    their write-ahead log checkpointed (when no other process is writing) and closed."""
    for run in reversed(list(active_runs)):
        try:
            run.end("killed" if run.session.kind == "kernel" else "finished")
        except Exception:
            pass
    try:
        drain_journal()
    except Exception:
        pass
    backlog.flush(RETRY_WAIT, of=Run)
    for left in backlog.items(of=Run):  # said out loud: what dies with the process
        assert isinstance(left, Run)
        try:  # the points at least go to the journal, for `nbtrack doctor --repair`
            kept = left._take_points()
            path = spill_at_exit(left.id, left.store, kept)
        except Exception:
            path = None
        if path is None:
            left._points.extendleft(reversed(kept))
        where = (
            f"; {journal_pending(left.id):,} metric points wait in {path}: `nbtrack doctor --repair` "
            "writes them once the store takes writes"
            if path
            else ""
        )
        warn_failure(
            f"run {left.id[:8]} could not be saved before exit: {len(left._points):,} metric points, "
            f"{len(left._params)} params, {len(left._tags)} tags, {len(left._artifacts)} artifacts are lost{where}"
        )
    tidy_stores()


def tidy_stores() -> None:
    """Checkpoint and close every store this process opened (at exit, after the last flush):
    the folder shrinks back to its data, the next reader gets fresh statistics."""
    from nbtrack.store import opened_stores
    from nbtrack.store.durability import checkpoint

    for store in opened_stores():
        try:
            if store.closed or backlog.items():
                continue  # records still waiting: leave the connections as they are
            checkpoint(store)
            store.close()
        except Exception:
            pass
