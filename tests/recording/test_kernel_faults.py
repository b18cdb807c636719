"""Kernel faults at nbtrack's own hook time (issue #18, findings 5 and 6): an unusable store, an
interrupt while nbtrack hashes after a cell, objects whose pickling raises SystemExit or
KeyboardInterrupt or whose ``__class__`` raises, and a reloaded extension. The user's cells give
the results a plain kernel gives, nbtrack's hooks print no traceback, and every cell is recorded
once, in sequence."""

from __future__ import annotations

import queue
import re
import shutil
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow


def cells(store_dir: Path) -> list[dict[str, Any]]:
    """The cells of the store's (one) kernel session, in order, with their state diffs."""
    with sqlite3.connect(store_dir / "nbtrack.db") as c:
        rows = c.execute(
            "SELECT c.seq, c.execution_count, c.status FROM cells c JOIN sessions s "
            "ON s.id = c.session_id WHERE s.kind = 'kernel' ORDER BY c.seq"
        ).fetchall()
        state = c.execute("SELECT seq, name, hash FROM cell_state ORDER BY seq").fetchall()
    out = [{"seq": r[0], "count": r[1], "status": r[2], "state": {}} for r in rows]
    by_seq = {o["seq"]: o for o in out}
    for seq, name, h in state:
        if seq in by_seq:
            by_seq[seq]["state"][name] = h
    return out


def no_callback_error(out: dict[str, Any]) -> None:
    text = out["stdout"] + out["stderr"]
    assert "Error in callback" not in text, text
    assert "Traceback" not in text, text


def send(k: Any, code: str) -> str:
    msg = k.kc.session.msg(
        "execute_request",
        {"code": code, "silent": False, "store_history": True, "user_expressions": {}},
        metadata={"cellId": uuid.uuid4().hex[:8]},
    )
    k.kc.shell_channel.send(msg)
    return str(msg["header"]["msg_id"])


def collect(k: Any, msg_id: str, timeout: float = 120) -> dict[str, Any]:
    out: dict[str, Any] = {"stdout": "", "stderr": "", "result": None, "error": None}
    while True:
        try:
            m = k.kc.get_iopub_msg(timeout=timeout)
        except queue.Empty:
            raise TimeoutError("no reply from the kernel") from None
        if m["parent_header"].get("msg_id") != msg_id:
            continue
        kind, c = m["msg_type"], m["content"]
        if kind == "stream":
            out[c["name"]] += c["text"]
        elif kind == "execute_result":
            out["result"] = c["data"].get("text/plain")
        elif kind == "error":
            out["error"] = c["ename"]
            out["stderr"] += "\n".join(c.get("traceback", []))
        elif kind == "status" and c["execution_state"] == "idle":
            return out


# -- finding 5: an unusable store ----------------------------------------------------------------
@pytest.mark.parametrize("where", ["/proc/nbtrack-store", "/proc/self/nbtrack/store"])
def test_track_cell_runs_its_body_when_the_store_cannot_be_made(start_kernel, where):
    k = start_kernel(NBTRACK_STORE=where)
    k.run("%load_ext nbtrack")
    out = k.run("%%track --name x --param lr=0.1\nx = 41\nx + 1")
    assert out["status"] == "ok" and out["result"] == "42", out
    warnings = [ln for ln in out["stderr"].splitlines() if ln.strip()]
    assert len(warnings) == 1 and "not recorded" in warnings[0], out["stderr"]
    assert "cannot create the store directory" in warnings[0]
    assert k.run("x")["result"] == "41"
    # the explicit API in a kernel: the with-block runs, one warning, logging calls are no-ops
    out = k.run(
        "import nbtrack\n"
        "with nbtrack.start_run(name='w') as r:\n"
        "    nbtrack.log_metric('acc', 0.5)\n"
        "    nbtrack.log_param('lr', 1)\n"
        "    y = 2\n"
        "y"
    )
    assert out["status"] == "ok" and out["result"] == "2", out
    no_callback_error(out)
    assert len([ln for ln in out["stderr"].splitlines() if "not recorded" in ln]) <= 1
    # an implicit run too
    out = k.run("nbtrack.log_metric('a', 1)\n5")
    assert out["status"] == "ok" and out["result"] == "5", out


# -- finding 6: faults at hook time ----------------------------------------------------------------
SLOW = """
import pathlib, time
class Slow:
    def __init__(self, flag):
        self.flag = flag
    def __reduce_ex__(self, protocol):
        pathlib.Path(self.flag).touch()
        time.sleep(60)
        return (Slow, (self.flag,))
"""


def test_interrupt_while_hashing_after_a_cell_records_it_marked_incomplete(
    kernel, store_dir, tmp_path
):
    kernel.ok("a = 1")
    kernel.ok(SLOW)
    flag = tmp_path / "hashing"
    # the cell's reply comes at once: nbtrack hashes `s` after it, where the interrupt lands
    out = kernel.run(f"s = Slow({str(flag)!r})\n'body ran'", settle=False)
    assert out["result"] == "'body ran'" and "NbtrackWarning" not in out["stderr"], out
    deadline = time.monotonic() + 60
    while not flag.exists():
        assert time.monotonic() < deadline, "the hasher never reached the slow object"
        time.sleep(0.05)
    time.sleep(0.2)
    kernel.km.interrupt_kernel()
    out = kernel.run("del s\nb = 2")
    no_callback_error(out)
    assert out["status"] == "ok", out
    # said in this cell, the first to run since: "the state after this cell is recorded incomplete"
    assert out["stderr"].count("NbtrackWarning") == 1 and "incomplete" in out["stderr"], out
    flag.unlink()
    seqs = cells(store_dir)
    assert [c["seq"] for c in seqs] == list(range(1, len(seqs) + 1))
    interrupted = next(c for c in seqs if c["count"] == 4)
    # not a content hash: a marker (INCOMPLETE here, or the hasher's own if it stopped itself)
    assert not re.fullmatch(r"[0-9a-f]{32}", interrupted["state"]["s"]), interrupted
    assert kernel.run("b")["result"] == "2"


def test_a_real_interrupt_in_the_users_code_still_interrupts_it(kernel):
    msg_id = send(kernel, "import time\nfor i in range(600):\n    time.sleep(0.1)\nz = 1")
    time.sleep(1.5)
    kernel.km.interrupt_kernel()
    out = collect(kernel, msg_id)
    assert out["error"] == "KeyboardInterrupt", out
    assert "Error in callback" not in out["stdout"] + out["stderr"]
    assert kernel.run("'z' in dir()")["result"] == "False"


@pytest.mark.parametrize("exc", ["SystemExit", "KeyboardInterrupt"])
def test_an_object_whose_pickling_raises_a_base_exception_harms_neither_kernel_nor_recording(
    kernel, store_dir, exc
):
    out = kernel.run(
        f"class Bad:\n    def __reduce_ex__(self, protocol):\n        raise {exc}('from reduce')\n"
        "bad = Bad()\n'made'"
    )
    assert out["status"] == "ok" and out["result"] == "'made'", out
    no_callback_error(out)
    for i in range(3):
        out = kernel.run(f"v{i} = {i}\nbad\nv{i}")
        assert out["status"] == "ok" and out["result"] == str(i), out
        no_callback_error(out)
    assert kernel.km.is_alive()
    seqs = cells(store_dir)
    assert [c["seq"] for c in seqs] == list(range(1, len(seqs) + 1))
    assert len(seqs) == 5  # %load_ext, the class, three cells
    assert "v2" in seqs[-1]["state"]


def test_an_object_whose_class_property_raises_does_not_drop_the_cells_touching_it(
    kernel, store_dir
):
    kernel.run(
        "class Liar:\n    @property\n    def __class__(self):\n        raise RuntimeError('no class')\n"
        "liar = Liar()"
    )
    for i in range(3):
        out = kernel.run(f"w{i} = {i}\nliar\nw{i}")
        assert out["status"] == "ok" and out["result"] == str(i), out
        no_callback_error(out)
    seqs = cells(store_dir)
    assert len(seqs) == 5, seqs
    assert [c["seq"] for c in seqs] == [1, 2, 3, 4, 5]


# -- finding 11: a reloaded extension records each cell once ----------------------------------------
def test_reload_after_deleting_the_modules_records_each_cell_once(kernel, store_dir):
    kernel.ok("a = 1")
    kernel.ok(
        "import sys\nfor _m in [m for m in sys.modules if m == 'nbtrack' or m.startswith('nbtrack.')]:\n"
        "    del sys.modules[_m]\ndel _m"
    )
    kernel.run("%reload_ext nbtrack")
    for i in range(3):
        kernel.ok(f"b{i} = {i}")
    with sqlite3.connect(store_dir / "nbtrack.db") as c:
        sources = [
            r[0]
            for r in c.execute(
                "SELECT s.text FROM cells c JOIN sources s ON s.hash = c.source_hash "
                "ORDER BY c.start_time"
            )
        ]
    for i in range(3):
        assert sources.count(f"b{i} = {i}") == 1, sources


# -- #19: a cell's record is made once its reply is sent, before the kernel's next request ------------
SLOW_TO_HASH = (
    "import os, time\n"
    "class Slow:\n"
    "    def __reduce_ex__(self, protocol):  # nbtrack's hash of it waits for a file 'go'\n"
    "        while not os.path.exists('go'):\n"
    "            time.sleep(0.01)\n"
    "        return (Slow, ())\n"
)


def test_a_cells_reply_does_not_wait_for_its_record_and_the_next_request_does(
    start_kernel, store_dir, tmp_path
):
    k = start_kernel(NBTRACK_HASH_SECONDS="300")
    k.ok("%load_ext nbtrack")
    k.ok(SLOW_TO_HASH)
    out = k.run("s = Slow()\n'made'", settle=False)
    # the cell's reply came while nbtrack still hashes `s`: the cell is not recorded yet
    assert out["status"] == "ok" and out["result"] == "'made'", out
    assert len(cells(store_dir)) == 2
    (tmp_path / "go").touch()
    out = k.run("t = 1\n'next'")  # waits for the record, then runs
    assert out["result"] == "'next'" and "NbtrackWarning" not in out["stderr"], out
    recorded = cells(store_dir)
    assert [c["count"] for c in recorded] == [1, 2, 3, 4]
    assert "s" in recorded[2]["state"] and "t" in recorded[3]["state"]


def test_a_failure_found_after_a_cells_reply_is_shown_in_the_next_cells_output(
    start_kernel, store_dir
):
    k = start_kernel()
    k.ok("%load_ext nbtrack")
    k.ok("import nbtrack.recording.recorder as _k\n_k._recorder.session.environment()\ndel _k")
    shutil.rmtree(store_dir)
    first = k.run("x = 1\nx")
    second = k.run("y = 2\ny")
    assert first["result"] == "1" and second["result"] == "2"
    assert "NbtrackWarning" not in first["stderr"], first  # its output was closed by then
    warned = [ln for ln in second["stderr"].splitlines() if "NbtrackWarning" in ln]
    assert len(warned) == 1 and "not there any more" in warned[0], second


def test_record_before_the_reply_when_asked_and_a_mode_that_is_neither_is_named(
    start_kernel, store_dir
):
    k = start_kernel(NBTRACK_RECORD="before-reply")
    k.ok("%load_ext nbtrack")
    k.run("x = 1", settle=False)
    assert len(cells(store_dir)) == 2  # written before the reply came
    typo = start_kernel(NBTRACK_RECORD="later")
    out = typo.run("%load_ext nbtrack\ny = 2")
    assert out["stderr"].count("NbtrackWarning") == 1, out
    assert "NBTRACK_RECORD must be after-reply or before-reply, not 'later'" in out["stderr"]
    assert typo.ok("y")["result"] == "2"
