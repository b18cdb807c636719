"""Faults under a real kernel: the store full, read-only, gone or locked; interrupts, %reset,
restarts, two kernels on one store. The user's cells must give the same results, nbtrack
must say so once (in a cell's output, also when a background thread found out), keep what it
could not write and write it when the store is back."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli

from nbtrack.query.runs import run_detail
from nbtrack.store import Store, open_store

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from bench_reliability import lock_store, release  # noqa: E402 (the locker the benchmark uses)

pytestmark = pytest.mark.slow

# Cells run while the store is broken, with the results a plain kernel gives.
OUTAGE_CELLS = [
    ("y = x + 41\ny", "42"),
    (
        "%%track --name during --param lr=0.1\n"
        "for i in range(100):\n"
        "    nbtrack.log_metric('loss', 1 / (i + 1))\n"
        "nbtrack.log_text('w' * 300_000, 'weights.txt')\n"
        "'trained'",
        "'trained'",
    ),
    ("z = sum(range(10))\nz", "45"),
]


def settle(k: Any) -> None:
    """Let the session's environment capture finish (a background thread), then ``x = 1``."""
    k.ok("import nbtrack.recording.recorder as _k\n_k._recorder.session.environment()\ndel _k")
    k.ok("x = 1")


def warnings_in(outs: list[dict[str, Any]]) -> list[str]:
    return [ln for o in outs for ln in o["stderr"].splitlines() if "NbtrackWarning" in ln]


def run_outage_cells(k: Any) -> list[dict[str, Any]]:
    outs = []
    for code, expected in OUTAGE_CELLS:
        out = k.run(code)
        assert out["status"] == "ok" and out["result"] == expected, out
        outs.append(out)
    return outs


# Waits (in the kernel) until nothing is left in nbtrack's backlog of unwritten records.
WAIT_FOR_BACKLOG = (
    "import time as _time, nbtrack.recording.pending as _p\n"
    "for _ in range(1200):\n"
    "    if not _p.backlog:\n"
    "        break\n"
    "    _time.sleep(0.05)\n"
    "assert not _p.backlog, 'the backlog was not written'"
)


def assert_everything_written(store_dir: Path, k: Any) -> None:
    """After the store came back: every cell, the run with its 100 points and its artifact."""
    k.ok(WAIT_FOR_BACKLOG)
    k.ok("after = 1")
    store = Store(str(store_dir), create=False)  # a fresh reader, not this process's cache
    try:
        ids = store.list_run_ids()
        run = run_detail(store, ids[0])
        session = store.run_summaries(ids)[0]["session_id"]
        sources = [c["source"] for c in store.run_cells({"session_id": session})]
        assert sources[-1] == "after = 1"
        for code, _ in OUTAGE_CELLS:
            assert sources.count(code) == 1, (code, sources)
        assert (run["name"], run["status"], run["params"]) == ("during", "finished", {"lr": "0.1"})
        assert len(store.metric_history(run["id"], "loss")) == 100
        (art,) = store.artifacts_of(run["id"])
        assert store.get_blob(art["blob_hash"]) == b"w" * 300_000
    finally:
        store.close()
    out = run_cli("doctor", "--store", str(store_dir))
    assert out.returncode == 0, out.stdout + out.stderr
    assert not list(store_dir.rglob("*.tmp"))


@pytest.fixture
def mount_point(tmp_path: Path) -> Iterator[Path]:
    """An empty directory the test may mount filesystems on (root only)."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    probe = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True
    )
    if probe.returncode != 0:
        pytest.skip("mounting filesystems needs root")
    subprocess.run(["umount", str(mnt)], check=True)
    yield mnt
    while subprocess.run(["umount", "-l", str(mnt)], capture_output=True).returncode == 0:
        pass


def fill(path: Path) -> None:
    """Write to ``path`` until the filesystem is full (to the last byte)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        for chunk in (65536, 4096, 1):
            try:
                while True:
                    os.write(fd, b"\0" * chunk)
            except OSError:
                pass
    finally:
        os.close(fd)


def test_disk_full_keeps_records_in_memory_and_writes_them_when_space_returns(
    mount_point, start_kernel
):
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mount_point)], check=True
    )
    store_dir = mount_point / "store"
    k = start_kernel(NBTRACK_STORE=str(store_dir))
    k.ok("%load_ext nbtrack")
    settle(k)
    filler = mount_point / "filler"
    fill(filler)
    outs = run_outage_cells(k)
    lines = warnings_in(outs)
    assert len(lines) == 1, lines
    assert "kept in memory" in lines[0] and ("No space left" in lines[0] or "full" in lines[0]), (
        lines[0]
    )
    filler.unlink()
    assert_everything_written(store_dir, k)


def test_read_only_blob_directory_keeps_artifacts_in_memory_until_it_is_writable(
    mount_point, start_kernel
):
    store_dir = mount_point / "store"
    shutil.copytree(open_store(mount_point / "seed").root, store_dir)  # a valid empty store
    blobs = store_dir / "blobs"
    k = start_kernel(NBTRACK_STORE=str(store_dir))
    k.ok("%load_ext nbtrack")
    settle(k)
    # a real read-only filesystem (root is not stopped by permissions): a read-only bind mount
    subprocess.run(["mount", "--bind", str(blobs), str(blobs)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(blobs)], check=True)
        with pytest.raises(OSError):
            (blobs / "probe").write_bytes(b"x")
        outs = run_outage_cells(k)
        lines = warnings_in(outs)
        assert len(lines) == 1 and "Read-only file system" in lines[0], lines
        subprocess.run(["mount", "-o", "remount,bind,rw", str(blobs)], check=True)
        assert_everything_written(store_dir, k)
    finally:
        subprocess.run(["umount", "-l", str(blobs)], capture_output=True)


def test_store_deleted_or_replaced_by_a_file_while_the_kernel_runs(tmp_path, start_kernel):
    store_dir = tmp_path / "store"
    k = start_kernel(NBTRACK_STORE=str(store_dir))
    k.ok("%load_ext nbtrack")
    settle(k)
    # the store directory moved away and a plain file put in its place
    away = tmp_path / "store.away"
    store_dir.rename(away)
    store_dir.write_text("not a store")
    outs = run_outage_cells(k)
    lines = warnings_in(outs)
    assert len(lines) == 1 and "not there any more" in lines[0], lines
    assert store_dir.read_text() == "not a store"  # nothing written into or beside it
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("store")) == [
        "store",
        "store.away",
    ]
    # the store comes back
    store_dir.unlink()
    away.rename(store_dir)
    assert_everything_written(store_dir, k)


def test_store_deleted_for_good_leaves_the_cells_working(tmp_path, start_kernel):
    store_dir = tmp_path / "store"
    k = start_kernel(NBTRACK_STORE=str(store_dir))
    k.ok("%load_ext nbtrack")
    settle(k)
    shutil.rmtree(store_dir)
    outs = run_outage_cells(k)
    assert len(warnings_in(outs)) == 1
    assert not store_dir.exists()  # not recreated behind the user's back


def test_store_locked_past_the_grace_period_warns_once_and_writes_everything_after(
    store_dir, start_kernel
):
    k = start_kernel(NBTRACK_OUTAGE_GRACE="1")
    k.ok("%load_ext nbtrack")
    settle(k)
    locker = lock_store(store_dir / "nbtrack.db", 300)
    try:
        outs = run_outage_cells(k)
        # the lock outlasts the grace period: the next cells say so, once
        for _ in range(200):
            if warnings_in(outs):
                break
            outs.append(k.run("import time\ntime.sleep(0.1)"))
        assert locker.poll() is None, "the cells must have run while the lock was held"
    finally:
        release(locker)
    outs += [k.run("w = 2")]
    lines = warnings_in(outs)
    assert len(lines) == 1 and "kept in memory" in lines[0] and "locked" in lines[0], lines
    assert_everything_written(store_dir, k)  # and no second warning (k.ok)


def test_store_locked_within_the_grace_period_warns_nothing_and_loses_nothing(
    store_dir, start_kernel
):
    # contention: another writer holds the store longer than a cell may wait (2 s), not for long
    k = start_kernel(NBTRACK_OUTAGE_GRACE="600")
    k.ok("%load_ext nbtrack")
    settle(k)
    locker = lock_store(store_dir / "nbtrack.db", 300)
    try:
        outs = run_outage_cells(k)
        assert locker.poll() is None, "the cells must have run while the lock was held"
    finally:
        release(locker)
    outs.append(k.run(WAIT_FOR_BACKLOG))
    assert warnings_in(outs) == []
    assert_everything_written(store_dir, k)


# In a cell: a training thread logs a point once the store is gone (between cells), then
# touches MARK once nbtrack's flusher thread has found the store failing.
BACKGROUND_LOGGER = """\
import os, threading, time
import nbtrack.recording.pending as _p
def _train():
    while os.path.isdir({store!r}):
        time.sleep(0.02)
    nbtrack.log_metric("m", 1)
    while not _p.store_failing(run.store):
        time.sleep(0.02)
    open({mark!r}, "w").close()
threading.Thread(target=_train, daemon=True).start()
"""


def test_a_failure_found_by_a_background_thread_is_one_warning_in_the_next_cell(
    tmp_path, store_dir, start_kernel
):
    k = start_kernel()
    k.ok("%load_ext nbtrack")
    settle(k)
    k.ok(
        "run = nbtrack.start_run(name='background', log_system_metrics=False)\nnbtrack.log_metric('m', 0)"
    )
    mark = tmp_path / "flusher-failed"
    k.ok(BACKGROUND_LOGGER.format(store=str(store_dir), mark=str(mark)))
    away = tmp_path / "store.away"
    store_dir.rename(away)  # while no cell runs
    for _ in range(1200):
        if mark.exists():
            break
        time.sleep(0.05)
    assert mark.exists(), "the flusher never found the store gone"
    # nothing went to the finished cell's output meanwhile
    stray = []
    while True:
        try:
            msg = k.kc.get_iopub_msg(timeout=1)
        except Exception:
            break
        if msg["msg_type"] == "stream":
            stray.append(msg["content"]["text"])
    assert not any("NbtrackWarning" in t for t in stray), stray
    nxt = k.run("z = 1")
    assert nxt["status"] == "ok"
    lines = warnings_in([nxt])
    assert len(lines) == 1 and "not there any more" in lines[0], nxt
    later = [k.run("z = 2"), k.run("z = 3")]
    assert warnings_in(later) == []  # one outage, one warning
    away.rename(store_dir)
    k.ok(WAIT_FOR_BACKLOG)
    k.ok("run.end()")
    store = Store(str(store_dir), create=False)
    try:
        (rid,) = store.list_run_ids()
        assert [p["value"] for p in store.metric_history(rid, "m")] == [0.0, 1.0]
        session = store.run_summaries([rid])[0]["session_id"]
        sources = [c["source"] for c in store.run_cells({"session_id": session})]
        assert sources[-5:] == ["z = 1", "z = 2", "z = 3", WAIT_FOR_BACKLOG, "run.end()"]
    finally:
        store.close()


SCRIPT_WITH_A_VANISHING_STORE = """\
import os, sys, time
import nbtrack, nbtrack.recording.pending as p
store = sys.argv[1]
run = nbtrack.start_run(name="script", log_system_metrics=False)
run.log_metric("m", 0)
run.flush()
os.rename(store, store + ".away")
for i in range(1, 4):
    run.log_metric("m", i)
while not p.store_failing(run.store):  # the flusher thread finds out
    time.sleep(0.02)
time.sleep(1.5)  # and keeps retrying
os.rename(store + ".away", store)
run.end()
"""


def test_a_script_hears_of_a_failure_found_by_the_flusher_once_on_stderr(store_dir):
    open_store(store_dir).close()
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT_WITH_A_VANISHING_STORE, str(store_dir)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    lines = [ln for ln in out.stderr.splitlines() if "NbtrackWarning" in ln]
    assert len(lines) == 1 and "not there any more" in lines[0], out.stderr
    store = open_store(store_dir)
    (rid,) = store.list_run_ids()
    assert len(store.metric_history(rid, "m")) == 4
    assert store.run_summaries([rid])[0]["status"] == "finished"


def test_keyboard_interrupt_in_a_tracked_cell_kills_the_run_and_records_the_cell(kernel, store_dir):
    timer = threading.Timer(3.0, kernel.km.interrupt_kernel)
    timer.start()
    out = kernel.run(
        "%%track --name sleepy --no-system-metrics\nimport time\nnbtrack.log_metric('before', 1.0)\ntime.sleep(60)"
    )
    timer.join()
    assert out["status"] == "error" and out["error"] == "KeyboardInterrupt"
    assert kernel.ok("6 * 7")["result"] == "42"  # the kernel carries on
    store = open_store(store_dir)
    run = run_detail(store, store.list_run_ids()[0])
    assert run["status"] == "killed"
    assert run["metrics"] == {"before": 1.0}
    cell = [c for c in run["cells"] if "sleepy" in c["source"]][0]
    assert cell["error"]["type"] == "KeyboardInterrupt"


def test_reset_clears_the_recorded_state_and_recording_carries_on(kernel, store_dir):
    kernel.ok("a = 1\nb = [1, 2]")
    kernel.ok("%reset -f")
    kernel.ok("c = 3")
    kernel.ok(
        "%%track --name after-reset --no-system-metrics\nimport nbtrack\nnbtrack.log_metric('m', 1)"
    )
    store = open_store(store_dir)
    run = run_detail(store, store.list_run_ids()[0])
    cells = run["cells"]
    reset = next(c for c in cells if c["source"] == "%reset -f")
    assert sorted(reset["deleted"]) == ["a", "b"] and reset["state"] == {}
    assert set(cells[-1]["state"]) == {"c", "nbtrack"}
    assert run["status"] == "finished" and run["metrics"] == {"m": 1.0}


def test_a_file_left_open_is_written_when_the_kernel_shuts_down_as_without_nbtrack(
    kernel, tmp_path
):
    # Given a cell that writes to a file and leaves it open, its write still in the buffer
    path = tmp_path / "left-open.txt"
    kernel.ok(f"f = open({str(path)!r}, 'w')\nf.write('every line')")
    kernel.ok("x = 1")
    assert path.read_text() == ""
    # When the kernel shuts down gracefully (JupyterLab's Shut Down Kernel)
    kernel.kc.stop_channels()
    kernel.km.shutdown_wait_time = 60  # (not killed on a busy machine before its exit ran)
    kernel.km.shutdown_kernel(now=False)
    # Then the write reached the file, as it does without nbtrack: the state hasher let go of
    # the user's objects before IPython's exit cleared the namespace (it kept them alive)
    assert path.read_text() == "every line"


def test_unloading_nbtrack_lets_the_user_free_what_it_was_tracking(kernel, tmp_path, store_dir):
    # Given a variable tracked by nbtrack whose object says when it is freed
    freed = tmp_path / "freed.txt"
    kernel.ok(
        "class Noisy:\n    def __del__(self):\n"
        f"        open({str(freed)!r}, 'w').write('freed')\nobj = Noisy()"
    )
    kernel.ok("x = 1")
    # When nbtrack is unloaded and the user deletes the variable
    kernel.ok("%unload_ext nbtrack")
    kernel.ok("del obj")
    # Then the object is freed at once, as without nbtrack, and loading again records on
    assert freed.read_text() == "freed"
    kernel.ok("%load_ext nbtrack")
    kernel.ok("%%track --name after-unload --no-system-metrics\ny = [x]")
    store = open_store(store_dir)
    state = run_detail(store, store.list_run_ids()[0])["cells"][-1]["state"]
    assert {"x", "y", "Noisy"} <= set(state) and "obj" not in state


def test_kernel_restart_kills_the_open_run_and_the_new_session_records_on(kernel, store_dir):
    kernel.ok(
        "run = nbtrack.start_run(name='spanning', log_system_metrics=False)\nnbtrack.log_metric('m', 1)"
    )
    kernel.km.restart_kernel(now=False)  # a graceful restart, as JupyterLab's menu
    kernel.kc.wait_for_ready(timeout=60)
    kernel.ok("%load_ext nbtrack")
    kernel.ok("%%track --name second\nv = 2")
    store = open_store(store_dir)
    runs = {r["name"]: r for r in store.run_summaries(store.list_run_ids())}
    assert runs["spanning"]["status"] == "killed" and runs["spanning"]["metrics"] == {"m": 1.0}
    second = run_detail(store, runs["second"]["id"])
    assert second["status"] == "finished"
    assert runs["second"]["session_id"] != runs["spanning"]["session_id"]
    assert [c["source"] for c in second["cells"]] == [
        "%load_ext nbtrack",
        "%%track --name second\nv = 2",
    ]


def test_kernel_killed_hard_leaves_a_killed_run_with_its_cells(kernel, store_dir):
    kernel.ok(
        "run = nbtrack.start_run(name='doomed', log_system_metrics=False)\nfor i in range(10):\n    nbtrack.log_metric('m', i)"
    )
    kernel.ok("w = 1")
    kernel.km.provisioner.process.kill()  # SIGKILL, no atexit
    kernel.km.provisioner.process.wait()
    store = open_store(store_dir)
    assert store.detect_killed() == 1  # as the listing commands and the server do before they list
    run = run_detail(store, store.list_run_ids()[0])
    assert run["status"] == "killed"
    assert len(store.metric_history(run["id"], "m")) == 10
    assert [c["source"] for c in run["cells"]][-1] == "w = 1"


def test_two_kernels_sharing_one_store_record_their_own_cells(start_kernel, store_dir):
    a, b = start_kernel(), start_kernel()
    for k in (a, b):
        k.ok("%load_ext nbtrack")
    for i in range(5):
        a.ok(f"x = {i}")
        b.ok(f"y = {i} * 10")
    a.ok("%%track --name from-a --no-system-metrics\nnbtrack.log_metric('m', x)")
    b.ok("%%track --name from-b --no-system-metrics\nnbtrack.log_metric('m', y)")
    store = open_store(store_dir)
    runs = {
        r["name"]: run_detail(store, r["id"]) for r in store.run_summaries(store.list_run_ids())
    }
    assert runs["from-a"]["metrics"] == {"m": 4.0} and runs["from-b"]["metrics"] == {"m": 40.0}
    assert [c["source"] for c in runs["from-a"]["cells"]][1:6] == [f"x = {i}" for i in range(5)]
    assert [c["source"] for c in runs["from-b"]["cells"]][1:6] == [
        f"y = {i} * 10" for i in range(5)
    ]
    assert set(runs["from-a"]["cells"][-1]["state"]) == {"x"}
