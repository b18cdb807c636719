"""Reading never writes: reads leave a run of a dead process as it is (liveness is written only
when a listing asks for it), and a store this user cannot write, its file or its folder
read-only, is listed by ``nbtrack runs`` without a byte of it changing."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from nbtrack.store import CellRecord, Store

NOBODY = 65534


def _store_with_a_dead_run(root: Path) -> tuple[str, str]:
    """A store holding a finished run and a 'running' run whose process has ended."""
    store = Store(str(root))
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    created = psutil.Process(proc.pid).create_time()
    proc.wait()
    store.add_session(
        {
            "id": "d" * 32,
            "kind": "script",
            "started": 1.0,
            "host": socket.gethostname(),
            "pid": proc.pid,
            "pid_started": created,
        }
    )
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


@pytest.fixture
def shared_dir(tmp_path: Path) -> Iterator[Path]:
    """A folder the reading user can reach: ``tmp_path``, or for root (who may write anything)
    a world-readable folder whose store is read as the unprivileged user ``nobody``."""
    if os.geteuid() != 0:
        yield tmp_path
        return
    folder = Path(tempfile.mkdtemp(prefix="nbtrack-readonly-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        for p in [folder, *folder.rglob("*")]:
            if p.is_dir():
                p.chmod(0o755)
        shutil.rmtree(folder)


def _as_reader(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """``nbtrack ARGS`` as a user who cannot write the store (root drops to ``nobody``)."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "HOME": str(cwd)}
    drop = {"user": NOBODY, "group": NOBODY, "extra_groups": []} if os.geteuid() == 0 else {}
    return subprocess.run(
        [sys.executable, "-m", "nbtrack.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
        **drop,
    )


@pytest.mark.parametrize("read_only", ["file", "folder"])
def test_a_read_only_store_is_listed_without_writing(shared_dir: Path, read_only: str) -> None:
    root = shared_dir / "store"
    finished, dead = _store_with_a_dead_run(root)
    if read_only == "file":
        (root / "nbtrack.db").chmod(0o444)
    else:
        for p in [root, *root.rglob("*")]:
            if p.is_dir():
                p.chmod(0o555)
    before = _snapshot(root)
    try:
        out = _as_reader(["--store", str(root), "runs", "--format", "json"], shared_dir)
        table = _as_reader(["--store", str(root), "runs"], shared_dir)
    finally:
        for p in [root, *root.rglob("*")]:
            if p.is_dir():
                p.chmod(0o755)
        (root / "nbtrack.db").chmod(stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IROTH)
    assert out.returncode == 0, out.stderr
    runs = {r["id"]: r for r in json.loads(out.stdout)["runs"]}
    assert set(runs) == {finished, dead}
    assert (
        runs[dead]["status"] == "running"
    )  # nobody here may mark it killed; the listing shows what is stored
    assert table.returncode == 0 and "done" in table.stdout and "dead" in table.stdout, table.stderr
    assert _snapshot(root) == before
