"""The store's files under faults (issue #18, findings 1, 2, 11; issue #19, the checkpoint at
exit): a write-ahead log deleted under a running kernel, a store locked or full while a cell
logs 200,000 points, truncated and byte-flipped files salvaged, a malformed file a kernel
writes into, the folder's size after a kernel exits. Real kernels, real files, tmpfs mounts."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import Kernel, run_cli

from nbtrack.store import Store

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "recording"))
import test_faults  # noqa: E402
from bench_reliability import lock_store, release  # noqa: E402
from test_faults import fill, warnings_in  # noqa: E402

mount_point = test_faults.mount_point  # the fixture: an empty folder to mount a tmpfs on

WAIT_FOR_WRITES = (
    "import time as _time, nbtrack.recording.pending as _p, nbtrack.recording.journal as _j\n"
    "for _ in range(1200):\n"
    "    if not _p.backlog and not any(j.pending() for j in _j.journals.values()):\n"
    "        break\n"
    "    _time.sleep(0.05)\n"
    "assert not _p.backlog, 'the backlog was not written'"
)


def count_points(store_dir: Path, key: str = "loss") -> int:
    store = Store(str(store_dir), create=False)  # a fresh reader, not the kernel's connections
    try:
        return store.read(
            lambda conn: conn.exec_driver_sql(
                "SELECT count(*) FROM metrics WHERE key = ?", (key,)
            ).scalar()
        )
    finally:
        store.close()


def settle(k: Any) -> None:
    k.ok("import nbtrack.recording.recorder as _k\n_k._recorder.session.environment()\ndel _k")


# -- finding 1: the WAL deleted under a running kernel -----------------------------------------
@pytest.mark.slow
def test_a_wal_deleted_under_a_running_kernel_loses_nothing_and_says_so_once(
    store_dir, start_kernel
):
    k = start_kernel()
    k.ok("%load_ext nbtrack")
    settle(k)
    k.ok(
        "run = nbtrack.start_run(name='wal')\nfor i in range(400):\n    nbtrack.log_metric('loss', i)"
    )
    os.remove(store_dir / "nbtrack.db-wal")  # under the kernel's open connections
    outs = [
        k.run("for i in range(400, 800):\n    nbtrack.log_metric('loss', i)"),
        k.run("later = 1"),
        k.run("nbtrack.end_run()"),
        k.run("after = 2"),
    ]
    assert all(o["status"] == "ok" for o in outs), outs
    lines = warnings_in(outs)
    assert len(lines) == 1 and "write-ahead log" in lines[0] and "reopened" in lines[0], lines
    assert count_points(store_dir) == 800
    store = Store(str(store_dir), create=False)
    try:
        (rid,) = store.list_run_ids()
        assert store.run_summaries([rid])[0]["status"] == "finished"
        session = store.run_summaries([rid])[0]["session_id"]
        sources = [c["source"] for c in store.run_cells({"session_id": session})]
        assert "later = 1" in sources and "after = 2" in sources
    finally:
        store.close()
    out = run_cli("doctor", "--store", str(store_dir))
    assert out.returncode == 0, out.stdout


def test_doctor_names_a_process_writing_into_a_deleted_wal(store_dir):
    Store(str(store_dir)).close()
    db = store_dir / "nbtrack.db"
    # a process without nbtrack keeps writing after the WAL is deleted: those rows are in no file
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys\n"
            f"c = sqlite3.connect({str(db)!r}, isolation_level=None)\n"
            "c.execute('PRAGMA journal_mode=WAL')\n"
            "c.execute(\"INSERT INTO meta VALUES ('probe', '1')\")\n"
            "print('ready', flush=True)\n"
            "sys.stdin.read()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout.readline().strip() == "ready"
        assert run_cli("doctor", "--store", str(store_dir)).returncode == 0
        os.remove(str(db) + "-wal")
        out = run_cli("doctor", "--store", str(store_dir))
        assert out.returncode == 1
        assert "PROBLEM   wal:" in out.stdout and str(writer.pid) in out.stdout, out.stdout
    finally:
        writer.stdin.close()
        writer.wait(timeout=30)


# -- finding 11: truncated and byte-flipped stores ---------------------------------------------
def make_store(store_dir: Path, runs: int = 30, points: int = 2000) -> None:
    code = (
        "import nbtrack\n"
        f"for i in range({runs}):\n"
        "    with nbtrack.start_run(name=f'r{i}', log_system_metrics=False) as r:\n"
        "        r.log_param('i', i)\n"
        f"        for j in range({points}):\n"
        "            r.log_metric('loss', 1 / (j + 1))\n"
    )
    env = {**os.environ, "NBTRACK_STORE": str(store_dir)}
    subprocess.run([sys.executable, "-c", code], env=env, check=True)


def rows(store_dir: Path, table: str) -> int:
    conn = sqlite3.connect(store_dir / "nbtrack.db")
    try:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        conn.close()


PAGE = 4096


def metric_pages(db: Path) -> list[int]:
    """The metrics table's leaf pages (SQLite's dbstat), in file order."""
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA page_size").fetchone()[0] == PAGE
        found = conn.execute(
            "SELECT pageno FROM dbstat WHERE name = 'metrics' AND pagetype = 'leaf' ORDER BY pageno"
        ).fetchall()
    finally:
        conn.close()
    return [p for (p,) in found]


@pytest.mark.parametrize("damage", ["truncated", "byte-flipped"])
def test_doctor_salvages_a_damaged_store_into_a_new_one(tmp_path, damage):
    src = tmp_path / "store"
    make_store(src)
    db = src / "nbtrack.db"
    size = db.stat().st_size
    with open(db, "r+b") as f:
        if damage == "truncated":
            f.truncate(size // 2)
        else:  # two of the metrics table's own pages (not an index's), wherever they lie
            for page in metric_pages(db)[1:3]:
                f.seek((page - 1) * PAGE)
                f.write(os.urandom(PAGE))
    out = run_cli("doctor", "--store", str(src))
    assert out.returncode == 1 and "LOST      integrity" in out.stdout and "--salvage" in out.stdout
    assert "Traceback" not in out.stderr

    dest = tmp_path / "salvaged"
    out = run_cli("doctor", "--store", str(src), "--salvage", str(dest))
    assert "Traceback" not in out.stderr, out.stderr
    assert f"salvaged into {dest}" in out.stdout
    assert "LOST      metrics" in out.stdout  # says what could not be read
    kept = rows(dest, "metrics")
    assert 0 < kept < 60_000
    if damage == "byte-flipped":
        assert rows(dest, "runs") == 30 and kept > 50_000
    healthy = run_cli("doctor", "--store", str(dest))
    assert healthy.returncode == 0, healthy.stdout  # summaries recomputed from what survived
    assert run_cli("runs", "--store", str(dest)).returncode == 0
    assert db.stat().st_size in (size // 2, size)  # the damaged store is left as it was


@pytest.mark.slow
def test_a_kernel_writing_into_a_malformed_store_warns_once(store_dir, start_kernel):
    make_store(store_dir, runs=5, points=20_000)
    db = store_dir / "nbtrack.db"
    with open(db, "r+b") as f:  # a page of noise in the middle of the metrics
        f.seek(db.stat().st_size // 2)
        f.write(os.urandom(4096))
    k = start_kernel()
    outs = [k.run("%load_ext nbtrack")]
    outs += [k.run(f"v = {i}\nimport time; time.sleep(0.2)") for i in range(8)]
    assert all(o["status"] == "ok" for o in outs), outs
    lines = warnings_in(outs)
    assert len(lines) == 1 and "damaged" in lines[0] and "--salvage" in lines[0], lines


# -- finding 2: outages never block the user's thread ------------------------------------------
LOG_200K = (
    "import time as _t\n"
    "_s = _t.perf_counter()\n"
    "for i in range(200_000):\n"
    "    run.log_metric('loss', i)\n"
    "body = _t.perf_counter() - _s\n"
    "body"
)


@pytest.mark.slow
def test_a_cell_logging_200000_points_into_a_locked_store_does_not_wait(store_dir, start_kernel):
    k = start_kernel(NBTRACK_BUFFER_POINTS="20000")
    k.ok("%load_ext nbtrack")
    settle(k)
    k.ok("run = nbtrack.start_run(name='locked', log_system_metrics=False)")
    locker = lock_store(store_dir / "nbtrack.db", 300)
    try:
        out = k.run(LOG_200K)
        assert out["status"] == "ok", out
        # before: every log_metric past the buffer waited 10 s on a flush (ten times here)
        assert float(out["result"]) < 8.0, out
        k.run("x = 1")
        assert locker.poll() is None, "the cells must have run while the lock was held"
    finally:
        release(locker)
    k.ok("run.end()")
    k.ok(WAIT_FOR_WRITES)
    assert count_points(store_dir) == 200_000
    assert not list((store_dir / "journal").glob("*.jsonl"))


@pytest.mark.slow
def test_a_full_disk_spills_points_to_the_per_user_journal_and_replays_them(
    mount_point, start_kernel, tmp_path
):
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=96m", "tmpfs", str(mount_point)], check=True
    )
    store_dir = mount_point / "store"
    state = tmp_path / "state"
    k = start_kernel(
        NBTRACK_STORE=str(store_dir), NBTRACK_BUFFER_POINTS="20000", XDG_STATE_HOME=str(state)
    )
    k.ok("%load_ext nbtrack")
    settle(k)
    k.ok("run = nbtrack.start_run(name='full', log_system_metrics=False)")
    filler = mount_point / "filler"
    fill(filler)
    outs = [k.run(LOG_200K)]
    assert outs[0]["status"] == "ok" and float(outs[0]["result"]) < 8.0, outs
    outs += [k.run("import time; time.sleep(1)") for _ in range(3)]
    journal = list((state / "nbtrack" / "journal").rglob("*.jsonl"))
    assert journal, "the store's folder is full: the journal goes to the per-user state folder"
    lines = warnings_in(outs)
    assert any("wait in the journal" in ln and "points so far" in ln for ln in lines), lines
    filler.unlink()
    k.run("run.end()")
    k.ok(WAIT_FOR_WRITES)
    assert count_points(store_dir) == 200_000
    assert not list((state / "nbtrack" / "journal").rglob("*.jsonl"))


# -- issue #19: the WAL checkpointed when a kernel exits ----------------------------------------
def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


@pytest.mark.slow
def test_a_kernel_that_exits_leaves_its_store_checkpointed(store_dir, tmp_path):
    k = Kernel(tmp_path, {"NBTRACK_STORE": str(store_dir)})
    try:
        k.ok("%load_ext nbtrack")
        for c in range(10):
            k.ok(
                f"with nbtrack.start_run(name='c{c}'):\n"
                "    for i in range(500):\n"
                "        nbtrack.log_metric('loss', i)"
            )
    finally:
        k.kc.stop_channels()
        k.km.shutdown_kernel(now=False)  # as JupyterLab's shutdown: the kernel exits itself
    before = folder_size(store_dir)
    conn = sqlite3.connect(store_dir / "nbtrack.db")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    checkpointed = folder_size(store_dir)
    assert before <= 1.5 * checkpointed, (before, checkpointed)
    wal = store_dir / "nbtrack.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0


# -- finding 11: doctor on a PostgreSQL server that does not answer -----------------------------
def test_doctor_on_an_unreachable_postgresql_prints_one_line():
    out = run_cli("doctor", "--store", "postgresql://u:secret@127.0.0.1:9/nbtrack")
    assert out.returncode != 0
    assert "Traceback" not in out.stderr, out.stderr
    lines = [ln for ln in (out.stdout + out.stderr).splitlines() if ln.strip()]
    assert len(lines) == 1 and "cannot reach the store" in lines[0], lines
    assert "secret" not in lines[0]


SCRIPT_DURING_OUTAGE = (
    "import nbtrack\n"
    "run = nbtrack.start_run(name='outage', log_system_metrics=False)\n"
    "run.log_metric('loss', 0)\n"
    "run.flush()\n"
    "print('ready', flush=True)\n"
    "input()\n"  # the test fills the disk meanwhile
    "for i in range(1, 50_000):\n"
    "    run.log_metric('loss', i)\n"
    "run.end()\n"
)


def test_a_process_exiting_during_an_outage_leaves_its_points_for_doctor_repair(
    mount_point, tmp_path
):
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mount_point)], check=True
    )
    store_dir = mount_point / "store"
    env = {
        **os.environ,
        "NBTRACK_STORE": str(store_dir),
        "NBTRACK_BUFFER_POINTS": "10000",
        "XDG_STATE_HOME": str(tmp_path / "state"),
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT_DURING_OUTAGE],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "ready"
    filler = mount_point / "filler"
    fill(filler)
    _, err = proc.communicate("go\n", timeout=300)
    assert "doctor --repair" in err and "wait in" in err, err
    filler.unlink()
    out = run_cli(
        "doctor", "--store", str(store_dir), env={"XDG_STATE_HOME": str(tmp_path / "state")}
    )
    assert out.returncode == 1 and "PROBLEM   journal" in out.stdout, out.stdout
    out = run_cli(
        "doctor",
        "--repair",
        "--store",
        str(store_dir),
        env={"XDG_STATE_HOME": str(tmp_path / "state")},
    )
    assert "repaired  journal" in out.stdout, out.stdout
    assert count_points(store_dir) == 50_000
