"""A logging call outside any run starts one: in a kernel it ends with its cell, so later
``%%track`` runs stay top level; in a script it lasts until end_run() or exit, as in MLflow."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from nbtrack.query.runs import run_detail
from nbtrack.store import open_store

ANNOUNCEMENT = (
    "outside a run; it ends with this cell. Use %%track or nbtrack.start_run() to group cells."
)


def runs_by_name(store_dir: Path) -> dict[str, dict[str, Any]]:
    store = open_store(store_dir)
    return {r["name"]: r for r in (run_detail(store, rid) for rid in store.list_run_ids())}


def only_run(store_dir: Path) -> dict[str, Any]:
    (run,) = runs_by_name(store_dir).values()
    return run


def test_a_metric_logged_outside_a_run_goes_to_a_run_that_ends_with_its_cell(kernel, store_dir):
    kernel.ok("nbtrack.log_metric('acc', 0.5)\nnbtrack.log_metric('acc', 0.9)")
    run = only_run(store_dir)
    assert run["status"] == "finished" and run["metrics"] == {"acc": 0.9}
    assert [c["in_run"] for c in run["cells"]] == [False, True]
    assert kernel.ok("nbtrack.active_run() is None")["result"] == "True"


def test_a_track_cell_after_an_implicit_run_is_top_level(kernel, store_dir):
    kernel.ok("nbtrack.log_param('lr', 0.1)")
    kernel.ok("%%track --name after\nnbtrack.log_metric('acc', 1.0)")
    runs = runs_by_name(store_dir)
    assert runs["after"]["parent_run_id"] is None and runs["after"]["status"] == "finished"
    implicit = next(r for name, r in runs.items() if name != "after")
    assert implicit["status"] == "finished" and implicit["params"] == {"lr": "0.1"}


def test_the_implicit_run_is_announced_once_on_stderr(kernel, store_dir):
    first = kernel.ok("nbtrack.set_tag('a', 1)\nnbtrack.log_metric('m', 1)")
    second = kernel.ok("nbtrack.log_metric('m', 2)")
    store = open_store(store_dir)
    run_ids = store.list_run_ids()  # newest first
    assert len(run_ids) == 2  # one run per cell
    first_run = run_detail(store, run_ids[-1])
    assert first["stderr"].count(ANNOUNCEMENT) == 1
    assert (
        f"nbtrack: started run {first_run['name']} ({first_run['id'][:8]}) for set_tag "
        in first["stderr"]
    )
    assert second["stderr"] == ""


def test_a_failing_cell_ends_its_implicit_run_as_failed(kernel, store_dir):
    out = kernel.run("nbtrack.log_metric('partial', 1.0)\nraise ValueError('bad data')")
    assert out["status"] == "error" and out["error"] == "ValueError"
    run = only_run(store_dir)
    assert run["status"] == "failed" and run["metrics"] == {"partial": 1.0}


def test_an_explicit_run_still_spans_cells_and_parents_track_runs(kernel, store_dir):
    kernel.ok("run = nbtrack.start_run(name='sweep')")
    logged = kernel.ok("nbtrack.log_metric('m', 1)")
    kernel.ok("%%track --name child\nnbtrack.log_metric('acc', 0.7)")
    assert kernel.ok("nbtrack.active_run().name")["result"] == "'sweep'"
    kernel.ok("nbtrack.end_run()")
    runs = runs_by_name(store_dir)
    assert set(runs) == {"sweep", "child"} and ANNOUNCEMENT not in logged["stderr"]
    assert runs["sweep"]["status"] == "finished" and runs["sweep"]["metrics"] == {"m": 1.0}
    assert runs["child"]["parent_run_id"] == runs["sweep"]["id"]


def test_a_script_keeps_its_implicit_run_until_it_exits(store_dir):
    script = textwrap.dedent(
        """
        import nbtrack
        nbtrack.log_metric("a", 1)
        first = nbtrack.active_run()
        nbtrack.log_metric("b", 2)
        assert nbtrack.active_run() is first
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NBTRACK_STORE": str(store_dir)},
    )
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    run = only_run(store_dir)
    assert run["status"] == "finished" and run["metrics"] == {"a": 1.0, "b": 2.0}


def test_without_the_extension_the_implicit_run_ends_with_its_own_cell(start_kernel, store_dir):
    kernel = start_kernel()
    inside = kernel.ok(
        "import nbtrack\n"
        "nbtrack.log_metric('m', 1)\n"
        "get_ipython().run_cell('inner = 1')\n"  # a cell run by this cell does not end the run
        "nbtrack.log_metric('m', 2)\n"
        "nbtrack.active_run().status"
    )
    assert inside["result"] == "'running'" and inside["stderr"].count(ANNOUNCEMENT) == 1
    late_end = kernel.ok(
        "try:\n    nbtrack.end_run()\nexcept nbtrack.NbtrackError as exc:\n    print(exc)"
    )
    assert late_end["stdout"].startswith(
        "no active run to end (a run that a logging call started outside"
    )
    run = only_run(store_dir)
    assert run["status"] == "finished" and run["metrics"] == {"m": 2.0}
