"""log_input: a DataFrame, an array or a file becomes one of the run's datasets, whose digest is
the hash the recorder keeps for the same value; searchable as datasets.*; shown by the read model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli

import nbtrack
from nbtrack.query.runs import read_run
from nbtrack.store import open_store

pd = pytest.importorskip("pandas")
np = pytest.importorskip("numpy")


def test_a_kernel_logs_a_dataframe_an_array_and_a_file_with_the_recorders_digests(
    kernel: Any, store_dir: Path, tmp_path: Path
) -> None:
    (tmp_path / "labels.csv").write_text("id,label\n1,cat\n2,dog\n")
    kernel.ok(
        "import pandas as pd, numpy as np\n"
        "df = pd.DataFrame({'x': [0.5, 1.5, 2.5], 'y': ['a', 'b', 'c']})\n"
        "arr = np.zeros((5, 2), dtype='float32')"
    )
    out = kernel.ok(
        "%%track --name data\n"
        "import nbtrack\n"
        "d1 = nbtrack.log_input(df, name='train', context='training')\n"
        "d2 = nbtrack.log_input(arr, context='validation')\n"
        "d3 = nbtrack.log_input('labels.csv')\n"
        "print(d1, d2, d3)"
    )
    d1, d2, d3 = out["stdout"].split()
    store = open_store(store_dir)
    (rid,) = store.list_run_ids()
    run = read_run(store, rid)
    state = run["cells"][-1]["state"]
    assert (state["df"], state["arr"]) == (d1, d2)  # the recorder's hash of the same values
    assert (
        run["datasets"]
        == [
            {
                "name": "train",
                "digest": d1,
                "context": "training",
                "kind": "dataframe",
                "source": None,
                "schema": [
                    {"name": "x", "type": "float64"},
                    {"name": "y", "type": str(pd.Series(["a"]).dtype)},
                ],  # fmt: skip
                "rows": 3,
            },
            {
                "name": f"dataset-{d2[:8]}",
                "digest": d2,
                "context": "validation",
                "kind": "array",
                "source": None,
                "schema": {"dtype": "float32", "shape": [5, 2]},
                "rows": 5,
            },
            {
                "name": "labels.csv",
                "digest": d3,
                "context": None,
                "kind": "file",
                "source": str(tmp_path / "labels.csv"),
                "schema": None,
                "rows": None,
            },
        ]
    )
    from nbtrack.store.blobs import content_hash

    assert d3 == content_hash((tmp_path / "labels.csv").read_bytes())
    assert [i["hash"] for i in run["inputs"] if i["mode"] == "input"] == [d3]  # replay's drift
    shown = json.loads(run_cli("show", rid, "--json").stdout)
    assert [d["name"] for d in shown["datasets"]] == ["train", f"dataset-{d2[:8]}", "labels.csv"]
    text = run_cli("show", rid).stdout
    assert "train [training]" in text and "3 rows x 2 columns" in text


def test_bad_inputs_give_clear_errors_and_log_nothing(store_dir: Path, tmp_path: Path) -> None:
    with nbtrack.start_run(log_system_metrics=False) as run:
        with pytest.raises(nbtrack.ValidationError, match="DataFrame or Series, a numpy array or a file path, not builtins.list"):  # fmt: skip
            nbtrack.log_input([1, 2, 3])
        with pytest.raises(nbtrack.ValidationError, match="not a readable file"):
            nbtrack.log_input(tmp_path / "missing.csv")
        with pytest.raises(nbtrack.ValidationError, match="is a directory"):
            nbtrack.log_input(tmp_path)
        with pytest.raises(nbtrack.ValidationError, match="dataset name"):
            nbtrack.log_input(np.ones(3), name="")
        with pytest.raises(nbtrack.ValidationError, match="dataset context"):
            nbtrack.log_input(np.ones(3), context=7)
    assert open_store(store_dir).datasets_of(run.id) == []


def test_logging_the_same_dataset_again_keeps_one_row_with_the_new_context(
    store_dir: Path,
) -> None:
    frame = pd.DataFrame({"a": [1, 2]})
    with nbtrack.start_run(log_system_metrics=False) as run:
        first = run.log_input(frame, name="t")
        run.log_input(frame, name="t", context="training")
        run.log_input(frame.assign(a=[3, 4]), name="t")  # other content: another dataset
    rows = open_store(store_dir).datasets_of(run.id)
    assert [(d["digest"] == first, d["context"]) for d in rows] == [(True, "training"), (False, None)]  # fmt: skip


def test_datasets_are_searchable_as_mlflow_names_them(store_dir: Path) -> None:
    frame = pd.DataFrame({"a": [1, 2]})
    with nbtrack.start_run(name="one", log_system_metrics=False) as one:
        one.log_input(frame, name="iris", context="training")
    with nbtrack.start_run(name="two", log_system_metrics=False) as two:
        two.log_input(np.ones(2), name="mnist", context="eval")
    with nbtrack.start_run(name="none", log_system_metrics=False):
        pass
    digest = open_store(store_dir).datasets_of(one.id)[0]["digest"]

    def names(text: str) -> list[str]:
        return sorted(nbtrack.search_runs(text)["run_name"])

    assert names("datasets.name = 'iris'") == ["one"]
    assert names("dataset.name != 'iris'") == ["two"]  # any dataset; a run without none
    assert names("datasets.name IN ('iris', 'mnist')") == ["one", "two"]
    assert names("datasets.name NOT IN ('iris')") == ["two"]
    assert names("datasets.name LIKE 'ir%'") == ["one"]
    assert names("datasets.name LIKE 'IR%'") == []
    assert names("datasets.name ILIKE 'IR%'") == ["one"]
    assert names(f"datasets.digest = '{digest}'") == ["one"]
    assert names("datasets.name NOT LIKE 'ir%'") == ["two"]  # an extension, as for params
    assert names("datasets.context = 'eval'") == ["two"]
    assert names("datasets.context != 'eval' AND params.x IS NULL") == ["one"]
    for bad, message in (
        ("datasets.rows = '3'", "unknown dataset field"),
        ("datasets.name > 'a'", "does not apply to datasets.name"),
        ("datasets.name = 3", "quote the value"),
    ):
        with pytest.raises(nbtrack.NbtrackError, match=message):
            nbtrack.search_runs(bad)
