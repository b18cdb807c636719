"""``%load_ext nbtrack`` is light: the store is opened in a thread, not on the loading cell's
path, and nothing run before or while it opens is lost (#19)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from nbtrack.query.runs import load_run, read_run, run_detail
from nbtrack.store import open_store

pytestmark = pytest.mark.slow

# Wraps open_store (the real one runs) to note which thread opened the store.
SPY = """\
import threading, nbtrack.store as _s
_opened_by = []
_real_open = _s.open_store
def _spy(*a, **k):
    _opened_by.append(threading.current_thread().name)
    return _real_open(*a, **k)
_s.open_store = _spy
"""


PROBE = "%%track --name probe\npass"


def session_record(kernel: Any, store_dir: Path) -> tuple[list[dict[str, Any]], list[Any]]:
    """The cells of the kernel's session (through a run ending now) and the files they read."""
    kernel.ok(PROBE)
    store = open_store(store_dir)
    run_id = store.list_run_ids()[0]
    reads = [
        (f["seq"], Path(f["path"]).name)
        for f in store.file_events_of(load_run(store, run_id))
        if f["mode"] == "read"
    ]
    return list(run_detail(store, run_id)["cells"]), reads


def test_loading_the_extension_imports_neither_sqlalchemy_nor_psutil():
    code = (
        "import sys, nbtrack, nbtrack.magics, nbtrack.recording.recorder\n"
        "import nbtrack.capture.hashing, nbtrack.capture.lineage\n"
        "print(sorted(m for m in ('sqlalchemy', 'psutil', 'pandas') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out


def test_the_store_is_opened_off_the_kernels_thread_and_every_cell_is_recorded(
    start_kernel, store_dir, tmp_path
):
    k = start_kernel()
    k.ok("before = 1")
    k.ok(SPY)
    (tmp_path / "data.txt").write_text("hello")
    # the loading cell also creates a variable and reads a file: both are recorded
    k.ok("%load_ext nbtrack\nloaded = open('data.txt').read()")
    k.ok("after = loaded.upper()")
    out = k.ok("_opened_by")
    assert out["result"] == "['nbtrack-open']"  # the opening thread, not the kernel's
    cells, reads = session_record(k, store_dir)
    assert [c["source"] for c in cells[:5]] == [
        "before = 1",
        SPY.rstrip(),
        "%load_ext nbtrack\nloaded = open('data.txt').read()",
        "after = loaded.upper()",
        "_opened_by",
    ]
    assert [c["status"] for c in cells[:3]] == ["history", "history", "ok"]
    assert [c["execution_count"] for c in cells[:5]] == [1, 2, 3, 4, 5]
    assert "loaded" in cells[2]["created"]  # (with the names made before nbtrack was loaded)
    assert cells[3]["created"] == ["after"]
    assert reads == [(3, "data.txt")]  # the loading cell's read, under its number


def test_a_store_folder_that_cannot_be_made_is_one_warning_in_the_loading_cell(
    start_kernel, tmp_path
):
    not_a_folder = tmp_path / "store"
    not_a_folder.write_text("a file where the store should be")
    k = start_kernel(NBTRACK_STORE=str(not_a_folder))
    outs = [k.run("%load_ext nbtrack"), k.run("x = 6 * 7\nx"), k.run("y = x + 1")]
    assert [o["status"] for o in outs] == ["ok", "ok", "ok"]
    assert outs[1]["result"] == "42"
    lines = [ln for o in outs for ln in o["stderr"].splitlines() if "NbtrackWarning" in ln]
    assert len(lines) == 1 and "recording is off: could not open the store" in lines[0], lines
    assert "NbtrackWarning" in outs[0]["stderr"]
    assert not_a_folder.read_text() == "a file where the store should be"


def test_a_store_that_fails_to_open_in_the_thread_is_one_warning_in_the_next_cell(
    start_kernel, tmp_path
):
    damaged = tmp_path / "store"
    damaged.mkdir()
    (damaged / "nbtrack.db").write_bytes(b"not a database" * 400)
    k = start_kernel(NBTRACK_STORE=str(damaged))
    outs = [k.run("%load_ext nbtrack"), k.run("x = 6 * 7\nx"), k.run("y = x + 1")]
    assert [o["status"] for o in outs] == ["ok", "ok", "ok"]
    assert outs[1]["result"] == "42"
    lines = [ln for o in outs for ln in o["stderr"].splitlines() if "NbtrackWarning" in ln]
    assert len(lines) == 1 and "recording is off: could not open the store" in lines[0], lines
    # recording stays off (no hook left behind); once the store is mended, loading again records
    (damaged / "nbtrack.db").unlink()
    k.ok("%reload_ext nbtrack")
    k.ok("z = 1")
    cells, _ = session_record(k, damaged)
    assert [c["source"] for c in cells][-3:] == ["%reload_ext nbtrack", "z = 1", PROBE]


# As SPY, and the store takes 3 s to open (the real one opens after the pause).
SLOW_OPEN = """\
import time, nbtrack.store as _s
_real_open = _s.open_store
def _slow(*a, **k):
    time.sleep(3)
    return _real_open(*a, **k)
_s.open_store = _slow
"""


def test_an_interrupt_while_a_cell_waits_for_the_store_interrupts_that_cell(
    start_kernel, store_dir
):
    from test_kernel_faults import collect, send

    k = start_kernel()
    k.ok(SLOW_OPEN)
    k.ok("%load_ext nbtrack")
    msg_id = send(k, "import time\nfor i in range(100):\n    time.sleep(0.1)\nz = 1")
    time.sleep(1.0)  # the cell waits for the store, which takes 3 s to open
    k.km.interrupt_kernel()
    out = collect(k, msg_id)
    assert out["error"] == "KeyboardInterrupt", out
    assert "Error in callback" not in out["stdout"] + out["stderr"]
    assert "NbtrackWarning" not in out["stderr"]
    assert k.ok("'z' in dir()")["result"] == "False"
    cells, _ = session_record(k, store_dir)
    sources = [c["source"] for c in cells]
    assert sources[1:] == [
        "%load_ext nbtrack",
        "import time\nfor i in range(100):\n    time.sleep(0.1)\nz = 1",
        "'z' in dir()",
        PROBE,
    ]
    assert cells[2]["status"] == "error"
    assert [c["execution_count"] for c in cells] == [1, 2, 3, 4, 5]


def test_a_run_started_in_the_loading_cell_is_the_kernels_and_holds_the_next_cells(
    start_kernel, store_dir
):
    k = start_kernel()
    k.ok(SLOW_OPEN)  # the run is started while the store is still being opened
    k.ok("%load_ext nbtrack\nrun = nbtrack.start_run(name='early')")
    k.ok("nbtrack.log_metric('m', 1.0)\ny = 2")
    k.ok("nbtrack.end_run()")
    store = open_store(store_dir)
    run = run_detail(store, store.list_run_ids()[0])
    assert run["name"] == "early"
    assert run["metrics"]["m"] == 1.0
    assert read_run(store, run["id"])["session"]["kind"] == "kernel"
    in_run = [c["source"] for c in run["cells"] if c["in_run"]]
    assert "nbtrack.log_metric('m', 1.0)\ny = 2" in in_run
