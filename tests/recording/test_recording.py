"""Recording in a real kernel: every cell, its state hashes, errors, runs from %%track."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nbtrack.query.runs import run_detail
from nbtrack.store import open_store

pytestmark = pytest.mark.slow


def latest_run(store_dir: Path) -> dict[str, Any]:
    store = open_store(store_dir)
    ids = store.list_run_ids()
    assert ids, "no run was recorded"
    return run_detail(store, ids[0])


def close_with_run(kernel: Any, store_dir: Path) -> dict[str, Any]:
    kernel.ok("%%track --name probe\npass")
    return latest_run(store_dir)


def test_every_cell_is_recorded_in_executed_order_with_ids_and_errors(kernel, store_dir):
    kernel.ok("x = 1")
    kernel.ok("y = x + 1")
    kernel.ok("x = 5")
    failed = kernel.run("1 / 0")
    assert failed["status"] == "error"
    kernel.run("z = y * 2", cell_id="cell-z")
    run = close_with_run(kernel, store_dir)
    cells = run["cells"]
    sources = [c["source"] for c in cells]
    assert sources == [
        "%load_ext nbtrack",
        "x = 1",
        "y = x + 1",
        "x = 5",
        "1 / 0",
        "z = y * 2",
        "%%track --name probe\npass",
    ]
    assert [c["execution_count"] for c in cells] == list(range(1, 8))
    assert cells[4]["status"] == "error"
    assert cells[4]["error"] == {"type": "ZeroDivisionError", "message": "division by zero"}
    assert cells[5]["cell_id"] == "cell-z"
    assert [c["in_run"] for c in cells] == [False] * 6 + [True]
    assert cells[1]["created"] == ["x"]
    assert cells[3]["changed"] == ["x"] and cells[3]["created"] == []
    assert cells[5]["state"]["z"] != cells[5]["state"]["x"]
    assert set(cells[-1]["state"]) == {"x", "y", "z"}


def test_alias_mutation_changes_the_hash_of_both_names(kernel, store_dir):
    kernel.ok("a = [1, 2, 3]")
    kernel.ok("b = a")
    kernel.ok("b[0] = 99")
    cells = close_with_run(kernel, store_dir)["cells"]
    before, after = cells[2]["state"], cells[3]["state"]
    assert before["a"] == before["b"]
    assert after["a"] != before["a"] and after["a"] == after["b"]
    assert set(cells[3]["changed"]) == {"a", "b"}


def test_large_array_mutated_inside_a_function_is_rehashed(kernel, store_dir):
    kernel.ok("import numpy as np\nbig = np.zeros(1_000_000)")
    kernel.ok("def bump():\n    big[0] += 1")
    kernel.ok("bump()")
    cells = close_with_run(kernel, store_dir)["cells"]
    assert cells[3]["changed"] == ["big"]


def test_unhashable_objects_get_a_marker_with_the_reason(kernel, store_dir):
    kernel.ok(
        "import threading\n"
        "gen = (i for i in range(3))\n"
        "lock = threading.Lock()\n"
        "fh = open('data.txt', 'w')\n"
        "class Stubborn:\n"
        "    def __reduce_ex__(self, protocol):\n"
        "        raise RuntimeError('no pickling here')\n"
        "stubborn = Stubborn()\n"
    )
    state = close_with_run(kernel, store_dir)["cells"][1]["state"]
    for name in ("gen", "lock", "fh", "stubborn"):
        assert state[name].startswith("unhashable:"), (name, state[name])
    assert "Stubborn" not in state or not state["Stubborn"].startswith("unhashable:")


def test_redefining_a_function_changes_its_hash_and_same_body_keeps_it(kernel, store_dir):
    kernel.ok("def f(x):\n    return x + 1")
    kernel.ok("def f(x):\n    return x + 2")
    kernel.ok("def f(x):\n    return x + 1")
    cells = close_with_run(kernel, store_dir)["cells"]
    h1, h2, h3 = (cells[i]["state"]["f"] for i in (1, 2, 3))
    assert h1 != h2 and h1 == h3


def test_inplace_pandas_edit_changes_the_frame_hash(kernel, store_dir):
    kernel.ok("import pandas as pd\ndf = pd.DataFrame({'a': [1, 2, 3], 'b': ['x', 'y', 'z']})")
    kernel.ok("df.loc[1, 'b'] = 'changed'")
    kernel.ok("df.sort_values('a', inplace=True)")
    cells = close_with_run(kernel, store_dir)["cells"]
    assert cells[2]["changed"] == ["df"]
    assert cells[3]["changed"] == []  # already sorted: same content, same hash


def test_an_array_variable_can_be_resized_in_place_as_without_nbtrack(kernel, store_dir):
    # numpy's a.resize(n) refuses while anything else refers to a, weak references included:
    # nbtrack remembers an array variable by identity alone, a large one too
    kernel.ok("import numpy as np\na = np.arange(3.0)\nbig = np.zeros(300_000)")
    kernel.ok("a.resize(5)\nbig.resize(400_000)")
    out = kernel.ok("print(a.tolist(), big.shape)")
    assert "[0.0, 1.0, 2.0, 0.0, 0.0] (400000,)" in out["stdout"]
    kernel.ok("a[4] = 7.0")
    cells = close_with_run(kernel, store_dir)["cells"]
    assert cells[2]["changed"] == ["a", "big"]
    assert cells[4]["changed"] == ["a"]


def test_a_rebound_name_leaves_what_held_its_old_object_as_it_was(kernel, store_dir):
    # a refit (model = ...) does not hash again the results holding the old model, but what
    # the cell wrote into the old object first, through a notebook function too, is recorded
    kernel.ok("model = [1]\nres = [model]\ndef grow():\n    model.append(2)\n    return 0")
    kernel.ok("model = grow()")
    kernel.ok("model = [5]")
    kernel.ok("%time model = [6]")
    kernel.ok("res[0].append(3)\nmodel = res")
    cells = close_with_run(kernel, store_dir)["cells"]
    assert [c["changed"] for c in cells[2:6]] == [
        ["model", "res"],
        ["model"],
        ["model"],
        ["model", "res"],
    ]
    assert cells[5]["state"]["res"] == cells[5]["state"]["model"]


def test_reading_a_statsmodels_result_does_not_change_it(kernel, store_dir):
    # its cached attributes (res._cache) are memos, not state; a list holding it stays as it was
    pytest.importorskip("statsmodels")
    kernel.ok(
        "import numpy as np\nimport statsmodels.api as sm\n"
        "x = sm.add_constant(np.arange(30.0))\ny = 2 * x[:, 1] + np.sin(np.arange(30.0))\n"
        "res = sm.OLS(y, x).fit()\nscale = res.scale\nresults = [res]"
    )
    kernel.ok("print(res.rsquared, res.bse, res.pvalues)")
    kernel.ok("res.params[0] = 0.0")
    cells = close_with_run(kernel, store_dir)["cells"]
    assert cells[2]["changed"] == []
    assert cells[3]["changed"] == ["res", "results"]


def test_magics_and_shell_escapes_are_recorded_verbatim(kernel, store_dir):
    kernel.ok("%time t = 1 + 1")
    out = kernel.ok("files = !echo hello")
    kernel.ok("%%capture captured\nprint('hidden')")
    cells = close_with_run(kernel, store_dir)["cells"]
    assert [c["source"] for c in cells[1:4]] == [
        "%time t = 1 + 1",
        "files = !echo hello",
        "%%capture captured\nprint('hidden')",
    ]
    assert {"t", "files", "captured"} <= set(cells[3]["state"])
    assert out["status"] == "ok"


def test_ipython_bookkeeping_is_not_state(kernel, store_dir):
    kernel.ok("41 + 1")
    kernel.ok("_ + 1")
    kernel.ok("value = _2")
    state = close_with_run(kernel, store_dir)["cells"][-1]["state"]
    assert set(state) == {"value"}


def test_sets_of_strings_hash_the_same_in_two_kernels(start_kernel, store_dir):
    for seed in ("1", "2"):
        k = start_kernel(PYTHONHASHSEED=seed)
        k.ok("%load_ext nbtrack")
        k.ok("words = {'alpha', 'beta', 'gamma', 'delta'}\nmapping = {'b': 2, 'a': 1}")
        k.ok("%%track --name probe\npass")
        k.shutdown()
    store = open_store(store_dir)
    states = [run_detail(store, rid)["cells"][-1]["state"] for rid in store.list_run_ids()]
    assert len(states) == 2
    assert states[0]["words"] == states[1]["words"]
    assert states[0]["mapping"] == states[1]["mapping"]


def test_track_magic_makes_a_run_with_params_tags_and_step_metrics(kernel, store_dir):
    kernel.ok("scores = [0.5, 0.7, 0.9]")
    out = kernel.ok(
        "%%track --name baseline --experiment churn --param lr=0.01 --tag owner=ana\n"
        "for i, s in enumerate(scores):\n"
        "    nbtrack.log_metric('acc', s)\n"
        "nbtrack.log_metric('loss', float('nan'))\n"
        "len(scores)"
    )
    assert out["result"] == "3"
    run = latest_run(store_dir)
    assert (run["name"], run["experiment"], run["status"]) == ("baseline", "churn", "finished")
    assert run["params"] == {"lr": "0.01"} and run["tags"] == {"owner": "ana"}
    assert run["metrics"]["acc"] == 0.9 and run["metrics"]["loss"] == "NaN"
    assert run["metric_summary"]["acc"]["min"] == 0.5 and run["metric_summary"]["acc"]["count"] == 3
    assert run["environment"]["python"]["version"].startswith("3.")
    history = open_store(store_dir).metric_history(run["id"], "acc")
    assert [p["step"] for p in history] == [0, 1, 2]
    assert all(p["cell_seq"] is not None for p in history)


def test_failing_track_cell_fails_the_run_and_the_cell(kernel, store_dir):
    out = kernel.run(
        "%%track --name broken\nnbtrack.log_metric('partial', 1.0)\nraise ValueError('bad data')"
    )
    assert out["status"] == "error" and out["error"] == "ValueError"
    run = latest_run(store_dir)
    assert run["status"] == "failed"
    assert run["metrics"] == {"partial": 1.0}
    assert run["cells"][-1]["error"] == {"type": "ValueError", "message": "bad data"}


def test_track_magic_rejects_bad_arguments_clearly(kernel):
    out = kernel.run("%%track --param lr\nx = 1")
    assert out["status"] == "error"
    assert "--param 'lr' must look like key=value" in out["stderr"] + str(out)


def test_start_run_spans_several_cells(kernel, store_dir):
    kernel.ok("run = nbtrack.start_run(name='spanning', experiment='e')")
    kernel.ok("nbtrack.log_metric('m', 1)")
    kernel.ok("nbtrack.log_metric('m', 2)")
    kernel.ok("nbtrack.end_run()")
    kernel.ok("after = 1")
    run = latest_run(store_dir)
    assert run["status"] == "finished" and run["metrics"] == {"m": 2.0}
    assert [c["in_run"] for c in run["cells"]] == [False, True, True, True, True]
    assert all("after" not in c["source"] for c in run["cells"])


def test_metrics_are_durable_at_the_end_of_each_cell(kernel, store_dir):
    kernel.ok(
        "run = nbtrack.start_run(name='open')\nfor i in range(1000):\n    nbtrack.log_metric('x', i)"
    )
    store = open_store(store_dir)
    assert len(store.metric_history(store.list_run_ids()[0], "x")) == 1000


def test_a_failure_inside_the_tracker_is_one_warning_line_and_the_cell_still_works(kernel):
    first = kernel.run(
        "import nbtrack.recording.recorder as _k\n"
        "def _boom(*a, **k):\n    raise OSError('disk full')\n"
        "_k._recorder.store.record_cell = _boom"
    )
    out = kernel.run("answer = 6 * 7\nanswer")
    assert out["status"] == "ok" and out["result"] == "42"
    # one warning for the whole outage, not one per cell
    lines = [ln for ln in (first["stderr"] + out["stderr"]).splitlines() if ln.strip()]
    assert len(lines) == 1 and "NbtrackWarning" in lines[0] and "disk full" in lines[0]


def test_loading_the_extension_twice_records_each_cell_once(kernel, store_dir):
    kernel.ok("%load_ext nbtrack")
    kernel.ok("%reload_ext nbtrack")
    kernel.ok("v = 1")
    cells = close_with_run(kernel, store_dir)["cells"]
    assert [c["source"] for c in cells].count("v = 1") == 1


def test_track_live_shows_a_chart_widget_that_follows_the_run(kernel, store_dir):
    out = kernel.ok(
        "%%track --name live --live\nfor i in range(50):\n    nbtrack.log_metric('loss', 1 / (i + 1))"
    )
    assert any("application/vnd.jupyter.widget-view+json" in d for d in out["displays"]), out[
        "displays"
    ]
    assert latest_run(store_dir)["metrics"]["loss"] == 0.02


def test_the_extension_can_be_loaded_from_ipython_config(tmp_path, store_dir):
    from tests.conftest import Kernel

    k = Kernel(
        tmp_path, {"NBTRACK_STORE": str(store_dir)}, ["--InteractiveShellApp.extensions=nbtrack"]
    )
    try:
        k.ok("a = 1")
        k.ok("%%track --name configured\nb = a + 1")
    finally:
        k.shutdown()
    assert [c["source"] for c in latest_run(store_dir)["cells"]] == [
        "a = 1",
        "%%track --name configured\nb = a + 1",
    ]
