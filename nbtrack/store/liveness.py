"""Runs whose process died: a run is ``running`` until its process ends it, so one killed
hard (SIGKILL, a crashed kernel, a power cut) stays ``running`` until someone on its host
notices the process is gone and marks it ``killed``.

That someone is explicit: the listing commands and the server call :func:`detect_killed`
(``Store.detect_killed``) before they list; reads never do, so reading never writes and a
read-only store can be read.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection

from nbtrack.store import schema as s

if TYPE_CHECKING:
    from nbtrack.store.sql import Store


@dataclass(frozen=True)
class RunningRun:
    """A run marked ``running``, with the process that records it (None: no session)."""

    id: str
    start_time: float
    session_id: str | None
    host: str | None
    pid: int | None
    pid_started: float | None  # the process's create time, to tell a reused pid apart


def running_runs(store: Store) -> list[RunningRun]:
    r, se = s.runs, s.sessions
    q = (
        select(r.c.id, r.c.start_time, r.c.session_id, se.c.host, se.c.pid, se.c.pid_started)
        .join(se, se.c.id == r.c.session_id, isouter=True)
        .where(r.c.status == "running")
    )
    return [RunningRun(*row) for row in store.read(lambda conn: conn.execute(q).all())]


def process_gone(run: RunningRun) -> bool:
    """The process of a run of this host is gone: exited (also a zombie its parent has not
    reaped, ``State: Z`` in /proc/<pid>/status), or its pid now names another process."""
    import psutil

    if run.pid is None:
        return True
    try:
        proc = psutil.Process(run.pid)
        if run.pid_started is not None and abs(proc.create_time() - run.pid_started) >= 1.0:
            return True  # the pid names another process now
        return bool(proc.status() == psutil.STATUS_ZOMBIE)  # exited, not reaped by its parent
    except psutil.Error:
        return True


def dead_runs(store: Store) -> list[RunningRun]:
    """The running runs of this host whose process is gone (other hosts cannot be checked)."""
    here = socket.gethostname()
    return [
        run
        for run in running_runs(store)
        if run.session_id and run.host == here and process_gone(run)
    ]


def detect_killed(store: Store) -> int:
    """Mark the runs of dead processes on this host ``killed``, ended at their last sign of
    life (the later of their last cell and their last metric point); returns how many.

    A store this process cannot write (read-only file or folder) is left as it is."""
    if store.read_only:
        return 0
    dead = dead_runs(store)
    if not dead:
        return 0
    r = s.runs

    def fn(conn: Connection) -> None:
        for run in dead:
            last: list[float | None] = [run.start_time]
            last.append(
                conn.execute(
                    select(func.max(s.cells.c.end_time)).where(
                        s.cells.c.session_id == run.session_id
                    )
                ).scalar()
            )
            last.append(
                conn.execute(
                    select(func.max(s.latest_metrics.c.timestamp)).where(
                        s.latest_metrics.c.run_id == run.id
                    )
                ).scalar()
            )
            end = max(t for t in last if t is not None)
            conn.execute(
                update(r)
                .where(r.c.id == run.id, r.c.status == "running")
                .values(status="killed", end_time=end)
            )

    store.write(fn)
    return len(dead)
