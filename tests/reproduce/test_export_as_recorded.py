"""`nbtrack export RUN -f notebook --as-recorded`: the notebook file as the run recorded it,
with the run's executed cells marked; rebuilt from the recorded cells when the file is unknown."""

from __future__ import annotations

import nbformat
import pytest
from conftest import run_cli

from nbtrack.query.runs import run_detail
from nbtrack.reproduce.notebook import recorded_notebook
from nbtrack.store import open_store


def saved_notebook(path, cells: list[tuple[str, str]]) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src, id=cid) for cid, src in cells]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)


@pytest.mark.slow
def test_as_recorded_notebook_is_the_saved_file_with_the_runs_cells_marked(
    start_kernel, store_dir, tmp_path
):
    # Given a notebook file whose cells ran in a kernel that knows the file (as JupyterLab's do)
    path = tmp_path / "analysis.ipynb"
    cells = [
        ("load", "%load_ext nbtrack"),
        ("data", "x = 1"),
        ("fit", "%%track --name fit --param lr=0.1\ny = x + 1"),
        ("later", "z = 3  # never run"),
    ]
    saved_notebook(path, cells)
    k = start_kernel(JPY_SESSION_NAME=str(path))
    for cid, src in cells[:3]:
        assert k.run(src, cell_id=cid)["status"] == "ok"
    store = open_store(store_dir)
    run = run_detail(store, store.list_run_ids()[0])
    assert run["name"] == "fit"

    # When the notebook is asked for as recorded, in memory and through the CLI
    nb = recorded_notebook(store, run["id"])
    out = tmp_path / "as-recorded.ipynb"
    proc = run_cli(
        "export", run["id"][:8], "-f", "notebook", "--as-recorded", "-o", str(out),
        "--store", str(store_dir),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr

    # Then it is the saved file, the run's cell marked with its count and time
    written = nbformat.read(out, as_version=4)
    nbformat.validate(written)
    for book in (nb, written):
        assert [c.id for c in book.cells] == [cid for cid, _ in cells]
        assert [c.source for c in book.cells] == [src for _, src in cells]
        meta = book.metadata["nbtrack"]
        assert meta["as_recorded"] is True and meta["source"] == "snapshot"
        assert meta["run_id"] == run["id"] and meta["run_name"] == "fit"
        assert meta["revision"]["hash"] == run["notebook"]["hash"]
        assert meta["revision"]["path"] == str(path)
        assert meta["recorded_at"].endswith("Z") and meta["unmatched"] == []
        marks = {c.id: c.metadata.get("nbtrack") for c in book.cells}
        fit = next(c for c in run["cells"] if c["cell_id"] == "fit")
        assert marks["fit"]["in_run"] is True
        assert marks["fit"]["execution_count"] == fit["execution_count"] == 3
        assert marks["fit"]["executed_at"].startswith(run["start_time"][:10])
        assert marks["load"] is None and marks["later"] is None


@pytest.mark.slow
def test_as_recorded_notebook_is_rebuilt_from_cells_when_the_file_is_unknown(kernel, store_dir):
    # Given a run from a kernel that does not know its notebook file
    kernel.ok("a = 1")
    kernel.ok("with nbtrack.start_run(name='inline'):\n    b = a + 1")
    store = open_store(store_dir)
    run = run_detail(store, store.list_run_ids()[0])
    assert run["notebook"]["hash"] is None

    # When it is asked for as recorded
    nb = recorded_notebook(store, run["id"])

    # Then it is rebuilt from the recorded cells, says so, and marks the run's cell
    nbformat.validate(nb)
    assert nb.metadata["nbtrack"]["source"] == "cells"
    assert "rebuilt from the recorded cells" in nb.metadata["nbtrack"]["note"]
    assert [c.source for c in nb.cells] == [c["source"] for c in run["cells"]]
    assert [c.execution_count for c in nb.cells] == [c["execution_count"] for c in run["cells"]]
    marked = [c.source for c in nb.cells if c.metadata.get("nbtrack", {}).get("in_run")]
    assert marked == [c["source"] for c in run["cells"] if c["in_run"]]
    assert marked[-1].startswith("with nbtrack.start_run")


@pytest.mark.slow
def test_as_recorded_marks_edited_cells_and_lists_the_ones_the_saved_file_lacks(
    start_kernel, store_dir, tmp_path
):
    # Given a run over several cells: one edited after the save, one never saved
    path = tmp_path / "spread.ipynb"
    saved = [
        ("open", "run = nbtrack.start_run(name='spread')"),
        ("work", "a = 1"),
        ("close", "nbtrack.end_run()"),
    ]
    saved_notebook(path, saved)
    k = start_kernel(JPY_SESSION_NAME=str(path))
    k.ok("%load_ext nbtrack")
    k.ok("import json")  # before the run: not marked
    for cell_id, source in [
        ("open", saved[0][1]),
        ("work", "a = 2  # edited, not saved"),
        ("scratch", "b = 3"),
        ("close", saved[2][1]),
    ]:
        assert k.run(source, cell_id=cell_id)["status"] == "ok"
    store = open_store(store_dir)
    run = run_detail(store, store.list_run_ids()[0])
    counts = {c["cell_id"]: c["execution_count"] for c in run["cells"]}

    # When it is asked for as recorded
    nb = recorded_notebook(store, run["id"])

    # Then the saved cells are marked (the edited one says so) and the unsaved one is listed
    marks = {c.id: c.metadata.get("nbtrack") for c in nb.cells}
    assert marks["open"]["execution_count"] == counts["open"]
    assert marks["work"]["edited"] is True and "edited" not in marks["open"]
    assert marks["close"]["in_run"] is True
    assert nb.metadata["nbtrack"]["unmatched"] == [counts["scratch"]]
