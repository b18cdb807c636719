"""Reading never writes: reads leave a run of a dead process as it is (liveness is written only
when a listing asks for it), and a store this user cannot write, its file or its folder
read-only, is listed by ``nbtrack runs`` without a byte of it changing."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import add_ended_process_session

from nbtrack.store import CellRecord, Store


def _store_with_a_dead_run(root: Path) -> tuple[str, str]:
    """A store holding a finished run and a 'running' run whose process has ended."""
    store = Store(str(root))
    add_ended_process_session(store, "d" * 32)
    store.record_cell(
        CellRecord("d" * 32, 1, "x = 1", 2.0, 3.0, "ok", created=("x",), state_diff={"x": "h1"})
    )
    finished, dead = "f" * 32, "d" * 32
    store.create_run(
        {"id": finished, "name": "done", "status": "finished", "start_time": 1.0, "end_time": 2.0},
        "e",
        {"lr": "0.1"},
        {},
    )
    store.create_run(
        {
            "id": dead,
            "name": "dead",
            "status": "running",
            "start_time": 2.0,
            "session_id": "d" * 32,
            "start_seq": 1,
        },
        "e",
        {},
        {},
    )
    store.log_batch(dead, {}, {}, [("loss", 0.5, 0, 2.5, 1)])
    store.close()
    return finished, dead


def _snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        if p.is_file()
        else "dir"
        for p in sorted(root.rglob("*"))
    }


def test_reads_leave_a_run_of_a_dead_process_running_until_liveness_is_checked(
    tmp_path, monkeypatch
):
    finished, dead = _store_with_a_dead_run(tmp_path / "store")
    store = Store(str(tmp_path / "store"), create=False)

    def no_writes(*args: object, **kwargs: object) -> None:
        raise AssertionError("a read wrote to the store")

    with monkeypatch.context() as m:
        m.setattr(store, "write", no_writes)
        assert store.resolve_run_id(dead[:6]) == dead
        assert set(store.list_run_ids()) == {finished, dead}
        rows = {r["id"]: r for r in store.run_summaries([finished, dead])}
        assert rows[dead]["status"] == "running"
        assert [c["source"] for c in store.run_cells(rows[dead])] == ["x = 1"]
        assert store.metric_summary(dead)["loss"]["latest"] == 0.5
    assert store.detect_killed() == 1  # the one explicit call point: the listings call it
    (row,) = store.run_summaries([dead])
    assert (row["status"], row["end_time"]) == (
        "killed",
        3.0,
    )  # its last sign of life: the cell's end


@contextlib.contextmanager
def made_read_only(root: Path, what: str) -> Iterator[None]:
    """The store's database file, or its whole folder, read-only for this user: by permissions,
    or for root (whom permissions do not stop) by a read-only bind mount."""
    target = root / "nbtrack.db" if what == "file" else root
    if os.geteuid() != 0:
        paths = [target] if what == "file" else [root, *root.rglob("*")]
        modes = {p: p.stat().st_mode for p in paths}
        for p in paths:
            p.chmod(0o444 if p.is_file() else 0o555)
        try:
            yield
        finally:
            for p, mode in modes.items():
                p.chmod(mode)
        return
    if subprocess.run(
        ["mount", "--bind", str(target), str(target)], capture_output=True
    ).returncode:
        pytest.skip("a read-only bind mount needs root with CAP_SYS_ADMIN")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(target)], check=True)
        yield
    finally:
        subprocess.run(["umount", "-l", str(target)], capture_output=True)


def _nbtrack(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nbtrack.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        timeout=300,
    )


@pytest.mark.parametrize("read_only", ["file", "folder"])
def test_a_read_only_store_is_listed_without_writing(tmp_path: Path, read_only: str) -> None:
    # Given a store holding a finished run and a run whose process died, made read-only
    root = tmp_path / "store"
    finished, dead = _store_with_a_dead_run(root)
    before = _snapshot(root)
    # When its runs are listed
    with made_read_only(root, read_only):
        out = _nbtrack(["--store", str(root), "runs", "--format", "json"], tmp_path)
        table = _nbtrack(["--store", str(root), "runs"], tmp_path)
    # Then both runs are shown as stored, and not a byte of the store changed
    assert out.returncode == 0, out.stderr
    runs = {r["id"]: r for r in json.loads(out.stdout)["runs"]}
    assert set(runs) == {finished, dead}
    assert runs[dead]["status"] == "running"  # no one may mark it killed here
    assert table.returncode == 0 and "done" in table.stdout and "dead" in table.stdout, table.stderr
    after = _snapshot(root)
    if read_only == "file":  # the folder is writable: SQLite may add its empty WAL index files
        after = {
            k: v for k, v in after.items() if k not in before and not k.endswith(("-wal", "-shm"))
        } | {k: after[k] for k in before}
    assert after == before
