"""``run_view()`` shows the run's datasets and opens the notebook as the run recorded it; where no
JupyterLab extension answers the widget, the kernel writes a read-only copy of it."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import nbtrack
from nbtrack.query.runs import read_run
from nbtrack.reproduce.notebook import notebook_bytes, recorded_notebook
from nbtrack.store import open_store
from nbtrack.widgets import run_view

STATIC = Path(nbtrack.__file__).parent / "widgets" / "static"


def test_run_view_carries_the_runs_datasets(tmp_path: Path) -> None:
    # Given a run that declared a table, an array and a file
    store = tmp_path / "s"
    data = tmp_path / "train.csv"
    data.write_text("a,b\n1,2\n3,4\n")
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "label": ["a", "b", "c"]})
    with nbtrack.start_run(name="fit", store=store, log_system_metrics=False) as run:
        run.log_input(frame, name="train", context="training")
        run.log_input(np.zeros((4, 2)), name="weights")
        run.log_input(str(data), context="raw")
    # When its view is shown
    view = run_view(run.id, store=store)
    # Then the widget's model holds them as the read model gives them, synced to the front end
    assert view.status == "ready"
    names = [(d["name"], d["context"], d["kind"]) for d in view.datasets]
    assert names == [
        ("train", "training", "dataframe"),
        ("weights", None, "array"),
        ("train.csv", "raw", "file"),
    ], names
    assert view.datasets == read_run(open_store(store), run.id)["datasets"]
    train = view.datasets[0]
    assert train["rows"] == 3 and [c["name"] for c in train["schema"]] == ["x", "label"]
    assert view.datasets[1]["schema"]["shape"] == [4, 2]
    assert view.datasets[2]["source"].endswith("train.csv")
    assert view.get_state()["datasets"] == view.datasets
    json.dumps(view.get_state()["datasets"])  # plain JSON for the comm


def test_a_run_without_datasets_has_an_empty_list(tmp_path: Path) -> None:
    with nbtrack.start_run(name="bare", store=tmp_path / "s", log_system_metrics=False) as run:
        pass
    assert run_view(run.id, store=tmp_path / "s").datasets == []


def test_the_built_front_end_draws_datasets_and_the_recorded_button() -> None:
    """The bundled view (built from widgets-js/src/run.js) draws ``datasets`` and dispatches
    ``nbtrack:open`` before falling back on the kernel's ``open-recorded``."""
    views = (STATIC / "views.js").read_text().replace("'", '"')
    assert 'get("datasets")' in views and "nbt-datasets" in views
    assert '"nbtrack:open"' in views and '"recorded-notebook"' in views
    assert '"open-recorded"' in views and "Notebook as recorded" in views


@pytest.fixture
def tracked_run(kernel: Any, store_dir: Path) -> str:
    """A run of a real kernel: a cell before it and its %%track cell."""
    kernel.ok("rows = [3, 1, 2]")
    kernel.ok("%%track --name sorted-rows --experiment demo\nresult = sorted(rows)\nprint(result)")
    [rid] = nbtrack.search_runs(store=open_store(store_dir))["run_id"].tolist()
    return str(rid)


def test_the_fallback_writes_the_notebook_as_recorded_read_only(
    tracked_run: str, store_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the view of a run, in a front end where no extension opened the recorded notebook
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    view = run_view(tracked_run, store=store_dir)
    # When its front end asks the kernel for the notebook as recorded
    view._on_msg(view, {"type": "action", "action": "open-recorded"}, [])
    # Then it is written here, named after the run, read-only, and the widget says where
    path = work / f"sorted-rows-{tracked_run[:8]}.as-recorded.ipynb"
    assert path.is_file(), (view.action_message, list(work.iterdir()))
    assert view.recorded_path == str(path.absolute())
    assert str(path.absolute()) in view.action_message and "read-only" in view.action_message
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    # And it is the notebook as recorded: the run's cell marked, the cell before it not
    written = json.loads(path.read_text())
    expected = json.loads(notebook_bytes(recorded_notebook(open_store(store_dir), tracked_run)))
    assert written == expected
    assert written["metadata"]["nbtrack"]["as_recorded"] is True
    marked = [c for c in written["cells"] if c["metadata"].get("nbtrack", {}).get("in_run")]
    assert len(marked) == 1 and "result = sorted(rows)" in "".join(marked[0]["source"])

    # When it is asked again (the copy is read-only): it is written over, still read-only
    view._on_msg(view, {"type": "action", "action": "open-recorded"}, [])
    assert "failed" not in view.action_message, view.action_message
    assert stat.S_IMODE(path.stat().st_mode) == 0o444


def test_the_fallback_says_why_when_there_is_no_notebook_to_show(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a run logged from a script: no saved notebook, no cells
    monkeypatch.chdir(tmp_path)
    with nbtrack.start_run(name="script", store=tmp_path / "s", log_system_metrics=False) as run:
        pass
    view = run_view(run.id, store=tmp_path / "s")
    # When the notebook as recorded is asked for, the widget says why there is none; no file
    view._on_msg(view, {"type": "action", "action": "open-recorded"}, [])
    assert view.action_message.startswith("notebook as recorded failed:"), view.action_message
    assert "no saved notebook" in view.action_message
    assert not list(tmp_path.glob("*.ipynb")) and view.recorded_path == ""
