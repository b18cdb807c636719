"""A notebook executed headless by nbclient (as papermill does), which tells the kernel no path,
is still recorded as that notebook: found among the directory's notebooks by its cells."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nbtrack.store import open_store

pytestmark = pytest.mark.slow

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

CELLS = [
    "%load_ext nbtrack",
    "%%track --name headless\nimport nbtrack\nnbtrack.log_metric('m', 1.0)",
]


def _execute(path: Path, store_dir: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, resources={"metadata": {"path": str(path.parent)}}, kernel_name="python3"
    )
    env = {k: v for k, v in os.environ.items() if k != "JPY_SESSION_NAME"}
    with client.setup_kernel(env={**env, "NBTRACK_STORE": str(store_dir)}):
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)


def _notebook(path: Path, cells: list[str]) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(nb, path)
    return path


def test_a_notebook_run_by_nbclient_records_its_path_and_experiment(
    store_dir: Path, tmp_path: Path
) -> None:
    _notebook(tmp_path / "other.ipynb", ["print('unrelated')"])
    path = _notebook(tmp_path / "train.ipynb", CELLS)
    _execute(path, store_dir)
    store = open_store(store_dir)
    (run,) = store.run_summaries(store.list_run_ids())
    assert (run["name"], run["notebook_path"], run["experiment"]) == (
        "headless",
        str(path),
        "train",
    )


def test_two_notebooks_with_the_same_cells_name_neither(store_dir: Path, tmp_path: Path) -> None:
    path = _notebook(tmp_path / "a.ipynb", CELLS)
    _notebook(tmp_path / "copy of a.ipynb", CELLS)
    _execute(path, store_dir)
    store = open_store(store_dir)
    (run,) = store.run_summaries(store.list_run_ids())
    assert run["notebook_path"] is None
