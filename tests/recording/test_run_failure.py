"""A failed run reads like any failed cell: ``%%track`` tracebacks name the cell and the line
the user sees, with no magic frame, and the run keeps its exception (type, message, failing line,
cell) for ``nbtrack show``, the server and ``run_view()``."""

from __future__ import annotations

import queue
import re
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import nbtrack
from nbtrack.query.runs import read_run, run_detail
from nbtrack.store import open_store

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def execute(kernel: Any, code: str) -> dict[str, Any]:
    """Run one cell as JupyterLab does; the traceback as the user reads it (ANSI stripped),
    how many error messages came, the result and the execution count the cell shows."""
    content = {
        "code": code,
        "silent": False,
        "store_history": True,
        "user_expressions": {},
        "allow_stdin": False,
        "stop_on_error": False,
    }
    msg = kernel.kc.session.msg(
        "execute_request", content, metadata={"cellId": uuid.uuid4().hex[:8]}
    )
    kernel.kc.shell_channel.send(msg)
    mid = msg["header"]["msg_id"]
    out: dict[str, Any] = {"errors": 0, "traceback": "", "result": None, "stderr": ""}
    while True:
        try:
            m = kernel.kc.get_iopub_msg(timeout=120)
        except queue.Empty:
            raise TimeoutError(code) from None
        if m["parent_header"].get("msg_id") != mid:
            continue
        kind, c = m["msg_type"], m["content"]
        if kind == "error":
            out["errors"] += 1
            out["traceback"] = ANSI.sub("", "\n".join(c["traceback"]))
        elif kind == "execute_result":
            out["result"] = c["data"].get("text/plain")
        elif kind == "stream" and c["name"] == "stderr":
            out["stderr"] += c["text"]
        elif kind == "status" and c["execution_state"] == "idle":
            break
    reply = kernel.kc.get_shell_msg(timeout=120)
    while reply["parent_header"].get("msg_id") != mid:
        reply = kernel.kc.get_shell_msg(timeout=120)
    out["status"] = reply["content"]["status"]
    out["execution_count"] = reply["content"]["execution_count"]
    kernel.settle()  # the cell's record and its run's end are written
    return out


def run_named(store_dir: Path, name: str) -> dict[str, Any]:
    store = open_store(store_dir)
    (rid,) = [r for r in store.list_run_ids() if store.run_summaries([r])[0]["name"] == name]
    return read_run(store, rid)


def assert_reads_like_a_cell(out: dict[str, Any], line: int, text: str) -> None:
    tb = out["traceback"]
    assert out["status"] == "error" and out["errors"] == 1, out
    assert f"Cell In[{out['execution_count']}], line {line}\n" in tb, tb
    assert re.search(rf"----> {line} {re.escape(text)}", tb), tb
    assert "run_cell_magic" not in tb and "run_line_magic" not in tb and "\\n" not in tb, tb
    assert "skipping hidden" not in tb, tb


# -- tracebacks ------------------------------------------------------------------------------
def test_a_failing_track_cell_traceback_names_its_cell_and_line(kernel, store_dir):
    kernel.ok("x = 1")
    kernel.ok("y = 2")
    out = execute(kernel, "%%track --name boom --param lr=0.1\na = 1\nb = a / 0\nc = 3")
    assert_reads_like_a_cell(out, 3, "b = a / 0")
    assert "      1 %%track --name boom --param lr=0.1\n" in out["traceback"]  # as written
    assert out["traceback"].rstrip().endswith("ZeroDivisionError: division by zero")

    run = run_named(store_dir, "boom")
    assert run["status"] == "failed" and run["params"] == {"lr": "0.1"}
    assert run["failure"] == {
        "type": "ZeroDivisionError",
        "message": "division by zero",
        "line": "b = a / 0",
        "lineno": 3,
        "execution_count": out["execution_count"],
    }
    (cell,) = [c for c in run["cells"] if c["in_run"]]
    assert cell["execution_count"] == out["execution_count"] and cell["created"] == ["a"]
    assert cell["source"].startswith("%%track --name boom")


def test_a_live_track_cell_fails_the_same_way_and_points_into_the_cell_not_the_library(
    kernel, store_dir
):
    kernel.ok("def helper(v):\n    return int(v)")
    out = execute(kernel, "%%track --live --name live-boom\nimport nbtrack\nhelper('x')")
    tb = out["traceback"]
    assert_reads_like_a_cell(out, 3, "helper('x')")
    assert f"Cell In[{out['execution_count'] - 1}], line 2, in helper" in tb
    failure = run_named(store_dir, "live-boom")["failure"]
    assert failure["type"] == "ValueError" and failure["message"].startswith("invalid literal")
    assert (failure["line"], failure["lineno"]) == ("helper('x')", 3)


def test_a_track_cell_keeps_its_result_and_its_magic_line_features(kernel, store_dir):
    assert kernel.ok("%%track --name ok\n40 + 2")["result"] == "42"
    assert kernel.ok("%%track --name quiet\n40 + 2;")["result"] is None
    kernel.ok("i = 7")
    assert kernel.ok("%%track --name run-{i}\n!true\nnbtrack.active_run().name")["result"] == (
        "'run-7'"
    )
    bad = execute(kernel, "%%track --bogus\n1")
    assert bad["status"] == "error" and "unrecognized arguments: --bogus" in bad["stderr"]
    assert kernel.ok("nbtrack.active_run() is None")["result"] == "True"  # none left open
    assert run_named(store_dir, "ok")["failure"] is None
    assert run_named(store_dir, "run-7")["status"] == "finished"


def test_an_explicit_run_cell_magic_call_names_the_calling_cell(kernel, store_dir):
    out = execute(
        kernel, "get_ipython().run_cell_magic('track', '--name direct', 'a = 1\\nb = {}[a]\\n')"
    )
    tb = out["traceback"]
    assert f"Cell In[{out['execution_count']}], line 3\n" in tb, tb  # line 1 is the %%track line
    failure = run_named(store_dir, "direct")["failure"]
    assert failure["type"] == "KeyError" and failure["line"] == "b = {}[a]"
    assert failure["execution_count"] == out["execution_count"]


# -- the failure of fluent and implicit runs --------------------------------------------------
def test_with_start_run_and_implicit_runs_keep_where_they_failed(kernel, store_dir):
    out = execute(
        kernel,
        "with nbtrack.start_run(name='fluent'):\n    q = 1\n    raise ValueError('bad ' * 400)",
    )
    assert out["errors"] == 1
    failure = run_named(store_dir, "fluent")["failure"]
    assert failure["type"] == "ValueError" and failure["lineno"] == 3
    assert failure["line"] == "raise ValueError('bad ' * 400)"
    assert len(failure["message"]) == 1000 and failure["message"].endswith("…")
    assert failure["execution_count"] == out["execution_count"]

    out = execute(kernel, "nbtrack.log_metric('m', 1)\nnbtrack.set_tag('k', 'v')\n[][1]")
    store = open_store(store_dir)
    implicit = read_run(store, store.list_run_ids()[0])
    assert implicit["status"] == "failed" and implicit["tags"] == {"k": "v"}
    assert implicit["failure"] == {
        "type": "IndexError",
        "message": "list index out of range",
        "line": "[][1]",
        "lineno": 3,
        "execution_count": out["execution_count"],
    }


def test_a_script_run_keeps_its_failing_line(tmp_path, store_dir):
    script = tmp_path / "train.py"
    script.write_text(
        "import nbtrack\n\n"
        "def fit():\n    raise RuntimeError('diverged')\n\n"
        "with nbtrack.start_run(name='script'):\n    fit()\n"
    )
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    assert proc.returncode == 1 and "RuntimeError: diverged" in proc.stderr
    failure = run_named(store_dir, "script")["failure"]
    assert failure == {
        "type": "RuntimeError",
        "message": "diverged",
        "line": "raise RuntimeError('diverged')",
        "lineno": 4,
        "execution_count": None,
    }


def test_runs_that_did_not_fail_have_no_failure(store_dir):
    with nbtrack.start_run(name="fine", store=store_dir, log_system_metrics=False):
        pass
    try:
        with nbtrack.start_run(name="stopped", store=store_dir, log_system_metrics=False):
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    assert run_named(store_dir, "fine")["failure"] is None
    stopped = run_named(store_dir, "stopped")
    assert stopped["status"] == "killed" and stopped["failure"] is None
    store = open_store(store_dir)
    assert run_detail(store, stopped["id"])["failure"] is None


def test_a_version_2_store_gains_the_failure_column_and_keeps_its_runs(store_dir):
    with nbtrack.start_run(name="old", store=store_dir, log_system_metrics=False) as run:
        run.log_param("lr", 0.1)
    open_store(store_dir).close()
    db = sqlite3.connect(store_dir / "nbtrack.db")
    with db:
        db.execute("ALTER TABLE runs DROP COLUMN failure")
        db.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    db.close()
    old = read_run(open_store(store_dir), run.id)
    assert old["failure"] is None and old["params"] == {"lr": "0.1"}
    assert (store_dir / "nbtrack.db.v2.bak").exists()
    try:
        with nbtrack.start_run(name="new", store=store_dir, log_system_metrics=False):
            raise OSError("disk")
    except OSError:
        pass
    assert run_named(store_dir, "new")["failure"]["message"] == "disk"
