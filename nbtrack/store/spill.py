"""Spill journal files: metric points a writer could not hand to the store, one JSON line per
batch, fsynced per batch. Beside the store (``<store>/journal/``), else in a per-user state
folder (``$XDG_STATE_HOME/nbtrack/journal/<store key>/``, default ``~/.local/state``). A file
is named ``<run id>.<pid>.jsonl``: the process that wrote it replays it while it lives
(:mod:`nbtrack.recording.journal`); ``nbtrack doctor --repair`` replays those left behind.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nbtrack.store.sql import Store

Point = tuple[str, float, int, float, "int | None"]


def state_dir() -> str:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    return os.path.join(base, "nbtrack", "journal")


def folders(store: Store) -> list[str]:
    """Where ``store``'s journal files go, in order of preference."""
    key = hashlib.sha256(store.url.encode()).hexdigest()[:16]
    own = [os.path.join(store.root, "journal")] if store.is_sqlite else []
    return [*own, os.path.join(state_dir(), key)]


def file_name(run_id: str) -> str:
    return f"{run_id}.{os.getpid()}.jsonl"


def append(path: str, batch: list[Point]) -> None:
    """Append one batch as a line and fsync it; a failed write leaves no half line."""
    line = (json.dumps(batch, allow_nan=True, separators=(",", ":")) + "\n").encode()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        start = os.lseek(fd, 0, os.SEEK_END)
        try:
            os.write(fd, line)
            os.fsync(fd)
        except OSError:
            os.ftruncate(fd, start)
            raise
    finally:
        os.close(fd)


def batches(path: str) -> Iterator[list[Point]]:
    """The batches of a journal file; a line cut short by a crash is skipped."""
    with open(path, "rb") as f:
        for raw in f:
            try:
                yield [tuple(p) for p in json.loads(raw)]
            except ValueError:
                continue


def left_behind(store: Store) -> list[tuple[str, str, int]]:
    """Journal files of ``store`` whose process is gone: (path, run id, pid)."""
    import psutil

    found = []
    for folder in folders(store):
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            continue
        for name in names:
            parts = name.split(".")
            if len(parts) != 3 or parts[2] != "jsonl" or not parts[1].isdigit():
                continue
            pid = int(parts[1])
            try:
                alive = psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
            except psutil.Error:
                alive = False
            if not alive:
                found.append((os.path.join(folder, name), parts[0], pid))
    return found


def replay_file(store: Store, path: str, run_id: str) -> int:
    """Write the points of one journal file into ``store`` (one transaction), then remove the
    file; returns how many points. Raises when the run is not in the store."""
    from nbtrack.errors import NotFoundError

    if not store.run_summaries([run_id]):
        raise NotFoundError(f"run {run_id[:8]} of journal {path} is not in the store")
    all_batches = list(batches(path))

    def fn(conn: Any) -> None:
        for batch in all_batches:
            store.write_batch(conn, run_id, {}, {}, batch)

    store.write(fn)
    os.remove(path)
    return sum(len(b) for b in all_batches)
