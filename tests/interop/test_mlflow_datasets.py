"""Datasets and the run's identity through a real MLflow (SQLite), read back with MLflow's own
client: dataset inputs, nesting exported in any order, user_id, source type and name, and the
nbtrack -> MLflow -> nbtrack round trip."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli

import nbtrack
from nbtrack.interop.mlflow_export import export_runs
from nbtrack.interop.mlflow_import import import_runs
from nbtrack.query.runs import read_run
from nbtrack.store import Store

pytest.importorskip("mlflow")
pytest_plugins = ["mlflow_fixtures"]  # mlflow_uri, client, store
pd = pytest.importorskip("pandas")
np = pytest.importorskip("numpy")


def new_experiment() -> str:
    return f"exp-{uuid.uuid4().hex[:8]}"


def _run_with_datasets(store: Store, experiment: str, tmp_path: Path) -> str:
    frame = pd.DataFrame({"x": [1.5, 2.5, 3.5], "label": ["a", "b", "a"], "n": [1, 2, 3]})
    csv = tmp_path / "train.csv"
    csv.write_text("x,label\n1.5,a\n")
    with nbtrack.start_run(
        name="with-data", experiment=experiment, store=store, log_system_metrics=False
    ) as run:
        run.log_input(frame, name="train", context="training")
        run.log_input(np.arange(12.0).reshape(4, 3), context="validation")
        run.log_input(csv)
    return run.id


def _shape(datasets: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted(
        (d["name"], d["digest"], d["context"], json.dumps(d["schema"]), d["rows"], d["kind"])
        for d in datasets
    )


def test_datasets_become_mlflow_dataset_inputs_that_mlflow_searches(
    store: Store, client: Any, mlflow_uri: str, tmp_path: Path
) -> None:
    rid = _run_with_datasets(store, new_experiment(), tmp_path)
    ours = {d["name"]: d for d in store.datasets_of(rid)}
    (result,) = export_runs(store, [rid], mlflow_uri)
    mrun = client.get_run(result.mlflow_run_id)
    inputs = {i.dataset.name: i for i in mrun.inputs.dataset_inputs}
    assert set(inputs) == set(ours) == {"train", f"dataset-{ours_digest(ours)}", "train.csv"}
    train = inputs["train"]
    assert train.dataset.digest == ours["train"]["digest"]
    assert [(t.key, t.value) for t in train.tags] == [("mlflow.data.context", "training")]
    assert json.loads(train.dataset.schema)["mlflow_colspec"] == [
        {"type": "double", "name": "x", "required": True},
        {"type": "string", "name": "label", "required": True},
        {"type": "long", "name": "n", "required": True},
    ]
    assert json.loads(train.dataset.profile)["num_rows"] == 3
    csv = inputs["train.csv"]
    assert csv.dataset.source_type == "local"
    assert json.loads(csv.dataset.source) == {"uri": str(tmp_path / "train.csv")}
    assert csv.tags == []
    exp_id = mrun.info.experiment_id
    for text in (
        "datasets.name = 'train'",
        "dataset.context = 'validation'",
        f"datasets.digest = '{ours['train']['digest']}'",
        "datasets.name IN ('nope', 'train.csv')",
    ):
        assert [r.info.run_id for r in client.search_runs([exp_id], text)] == [
            result.mlflow_run_id
        ], text
        assert list(nbtrack.search_runs(text, store=store)["run_id"]) == [rid], text
    again = export_runs(store, [rid], mlflow_uri)[0]
    assert again.action == "unchanged"
    assert len(client.get_run(result.mlflow_run_id).inputs.dataset_inputs) == 3


def ours_digest(ours: dict[str, Any]) -> str:
    (array,) = (d for d in ours.values() if d["kind"] == "array")
    return str(array["digest"][:8])


def test_round_trip_through_mlflow_keeps_nested_runs_and_their_datasets(
    store: Store, client: Any, mlflow_uri: str, tmp_path: Path
) -> None:
    experiment = new_experiment()
    parent = _run_with_datasets(store, experiment, tmp_path)
    with nbtrack.start_run(
        name="child", experiment=experiment, store=store, log_system_metrics=False
    ) as child:
        child.log_param("fold", 2)
        child.log_metric("acc", 0.75, step=3)
        child.log_input(pd.DataFrame({"z": [True, False]}), name="holdout", context="test")
    store.update_run(child.id, parent_run_id=parent)
    store.update_run(parent, notebook_path="/work/nb/train.ipynb")
    export_runs(store, [child.id, parent], mlflow_uri)  # the child first
    other = Store(str(tmp_path / "other"))
    results = {r.name: r for r in import_runs(other, mlflow_uri, experiment)}
    assert {r.action for r in results.values()} == {"imported"}
    new_parent, new_child = results["with-data"].run_id, results["child"].run_id
    for old, new in ((parent, new_parent), (child.id, new_child)):
        before, after = read_run(store, old), read_run(other, new)
        assert _shape(after["datasets"]) == _shape(before["datasets"])
        assert [d["source"] for d in after["datasets"]] == [d["source"] for d in before["datasets"]]  # fmt: skip
        for key in ("name", "user", "status", "params", "metrics"):
            assert after[key] == before[key], key
        for key in ("start_time", "end_time"):  # MLflow keeps whole milliseconds
            assert after[key] == round(before[key] * 1000) / 1000, key
        assert before["tags"].items() <= after["tags"].items()
    assert read_run(other, new_child)["parent_run_id"] == new_parent
    assert read_run(other, new_parent)["notebook_path"] == "/work/nb/train.ipynb"
    found = nbtrack.search_runs("datasets.context IN ('training', 'test')", store=other)
    assert sorted(found["run_id"]) == sorted([new_parent, new_child])


def test_datasets_logged_by_mlflow_are_imported(
    store: Store, client: Any, mlflow_uri: str, tmp_path: Path
) -> None:
    import mlflow

    experiment = new_experiment()
    frame = pd.DataFrame({"a": [1, 2], "b": [0.5, 0.25]})
    mlflow.set_tracking_uri(mlflow_uri)
    try:
        mlflow.set_experiment(experiment)
        with mlflow.start_run() as mrun:
            mlflow.log_input(mlflow.data.from_pandas(frame, name="iris"), context="training")
    finally:
        mlflow.set_tracking_uri("")
    digest = client.get_run(mrun.info.run_id).inputs.dataset_inputs[0].dataset.digest
    (result,) = import_runs(store, mlflow_uri, experiment)
    (d,) = store.datasets_of(result.run_id)
    assert (d["name"], d["digest"], d["context"], d["kind"], d["rows"]) == (
        "iris",
        digest,
        "training",
        "dataframe",
        2,
    )
    assert d["schema"] == [{"name": "a", "type": "long"}, {"name": "b", "type": "double"}]


def test_children_listed_before_parents_are_nested_and_then_unchanged(
    store: Store, client: Any, mlflow_uri: str
) -> None:
    experiment = new_experiment()
    with nbtrack.start_run(
        name="sweep", experiment=experiment, store=store, log_system_metrics=False
    ) as parent:
        with nbtrack.start_run(name="trial", store=store, log_system_metrics=False) as child:
            with nbtrack.start_run(name="fold", store=store, log_system_metrics=False) as leaf:
                pass
    results = export_runs(store, [leaf.id, child.id, parent.id], mlflow_uri)
    assert [r.run_id for r in results] == [parent.id, child.id, leaf.id]
    assert {r.action for r in results} == {"created"}
    mid = {r.run_id: r.mlflow_run_id for r in results}
    tags = {rid: client.get_run(m).data.tags for rid, m in mid.items()}
    assert "mlflow.parentRunId" not in tags[parent.id]
    assert tags[child.id]["mlflow.parentRunId"] == mid[parent.id]
    assert tags[leaf.id]["mlflow.parentRunId"] == mid[child.id]
    again = export_runs(store, [leaf.id, child.id, parent.id], mlflow_uri)
    assert [r.action for r in again] == ["unchanged"] * 3


def test_the_user_is_mlflows_user_id_and_a_script_is_local(
    store: Store, client: Any, mlflow_uri: str
) -> None:
    with nbtrack.start_run(
        name="script-run", experiment=new_experiment(), store=store, log_system_metrics=False
    ) as run:
        pass
    store.update_run(run.id, notebook_path="/work/train.py", user="ana")
    (result,) = export_runs(store, [run.id], mlflow_uri)
    mrun = client.get_run(result.mlflow_run_id)
    assert mrun.info.user_id == "ana" and mrun.data.tags["mlflow.user"] == "ana"
    assert mrun.data.tags["mlflow.source.type"] == "LOCAL"
    assert mrun.data.tags["mlflow.source.name"] == "/work/train.py"


@pytest.mark.slow
def test_a_notebook_run_by_nbtrack_run_is_a_notebook_with_its_path(
    store_dir: Path, client: Any, mlflow_uri: str, tmp_path: Path
) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import nbtrack\nnbtrack.log_metric('m', 1.0)")]
    path = tmp_path / "headless.ipynb"
    nbformat.write(nb, path)
    out = run_cli("run", str(path), "--experiment", "headless")
    assert out.returncode == 0, out.stderr
    rid = json.loads(run_cli("runs", "--format", "json").stdout)["runs"][0]["id"]
    out = run_cli("mlflow-export", rid, "--tracking-uri", mlflow_uri)
    assert out.returncode == 0, out.stderr
    mid = out.stdout.split("MLflow run ")[1].split()[0]
    tags = client.get_run(mid).data.tags
    assert tags["mlflow.source.type"] == "NOTEBOOK"
    assert tags["mlflow.source.name"] == str(path)


@pytest.mark.slow
def test_the_cli_exports_a_child_listed_before_its_parent_nested(
    store_dir: Path, client: Any, mlflow_uri: str
) -> None:
    with nbtrack.start_run(
        name="parent", experiment=new_experiment(), log_system_metrics=False
    ) as parent:
        with nbtrack.start_run(name="child", log_system_metrics=False) as child:
            pass
    args = ("mlflow-export", child.id[:8], parent.id[:8], "--tracking-uri", mlflow_uri)
    out = run_cli(*args)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert [line[:8] for line in lines] == [parent.id[:8], child.id[:8]]
    mids = [line.split("MLflow run ")[1].split()[0] for line in lines]
    assert client.get_run(mids[1]).data.tags["mlflow.parentRunId"] == mids[0]
    again = run_cli(*args)
    assert again.stdout.count("(unchanged)") == 2, again.stdout + again.stderr
