"""Runs round-trip through a real MLflow tracking store (SQLite): export, import, idempotence."""

from __future__ import annotations

import json
import math
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli

import nbtrack
from nbtrack.interop.mlflow_export import export_runs
from nbtrack.interop.mlflow_import import import_runs
from nbtrack.store import Store

pytest.importorskip("mlflow")
pytest_plugins = ["mlflow_fixtures"]  # mlflow_uri, client, store


def new_experiment() -> str:
    return f"exp-{uuid.uuid4().hex[:8]}"


def _nbtrack_run(store: Store, experiment: str, n: int = 2500) -> str:
    with nbtrack.start_run(
        name="baseline",
        experiment=experiment,
        store=store,
        log_system_metrics=False,
        params={"lr": 0.01, "model": "rf"},
        tags={"owner": "ana"},
    ) as run:
        for i in range(n):
            run.log_metric("loss", 1.0 / (i + 1), step=i, timestamp=1_700_000_000 + i / 1000)
        run.log_metric("acc", float("nan"), step=0)
        run.log_text("hello", "notes/hello.txt")
    store.update_run(run.id, notebook_path="/work/nb/train.ipynb", git_commit="c0ffee" * 6)
    return run.id


def test_export_pushes_params_metrics_tags_and_artifacts(
    store: Store, client: Any, mlflow_uri: str
) -> None:
    experiment = new_experiment()
    rid = _nbtrack_run(store, experiment)
    (result,) = export_runs(store, [rid], mlflow_uri)
    assert result.action == "created"
    mrun = client.get_run(result.mlflow_run_id)
    assert client.get_experiment(mrun.info.experiment_id).name == experiment
    assert mrun.info.status == "FINISHED" and mrun.info.run_name == "baseline"
    assert mrun.data.params == {"lr": "0.01", "model": "rf"}
    tags = mrun.data.tags
    assert (
        tags["nbtrack.run_id"] == rid
        and tags["mlflow.runName"] == "baseline"
        and tags["owner"] == "ana"
    )
    assert (
        tags["mlflow.source.name"] == "/work/nb/train.ipynb"
        and tags["mlflow.source.type"] == "NOTEBOOK"
    )
    assert tags["mlflow.source.git.commit"] == "c0ffee" * 6
    history = client.get_metric_history(result.mlflow_run_id, "loss")
    assert len(history) == 2500  # more than one log_batch call holds
    first = min(history, key=lambda m: m.step)
    assert (first.step, first.value, first.timestamp) == (0, 1.0, 1_700_000_000_000)
    assert max(m.timestamp for m in history) == 1_700_000_002_499
    assert math.isnan(client.get_metric_history(result.mlflow_run_id, "acc")[0].value)
    paths = {a.path for a in client.list_artifacts(result.mlflow_run_id, "notes")}
    assert paths == {"notes/hello.txt"}
    assert {a.path for a in client.list_artifacts(result.mlflow_run_id, "nbtrack")} == {
        "nbtrack/cells.json"
    }
    assert "no recorded cells" in " ".join(result.notes)


def test_exporting_twice_adds_only_what_is_new(store: Store, client: Any, mlflow_uri: str) -> None:
    rid = _nbtrack_run(store, new_experiment(), n=30)
    first = export_runs(store, [rid], mlflow_uri)[0]
    again = export_runs(store, [rid], mlflow_uri)[0]
    assert (again.mlflow_run_id, again.action) == (first.mlflow_run_id, "unchanged")
    store.write(
        lambda conn: store.write_batch(
            conn,
            rid,
            {"extra": "1"},
            {"stage": "prod"},
            [("loss", 0.001, 30, 1_700_000_100.0, None)],
        )
    )
    third = export_runs(store, [rid], mlflow_uri)[0]
    assert (third.mlflow_run_id, third.action) == (first.mlflow_run_id, "updated")
    exp_id = client.get_run(first.mlflow_run_id).info.experiment_id
    assert len(client.search_runs([exp_id])) == 1
    assert len(client.get_metric_history(first.mlflow_run_id, "loss")) == 31
    run = client.get_run(first.mlflow_run_id)
    assert run.data.params["extra"] == "1" and run.data.tags["stage"] == "prod"


def _mlflow_runs(client: Any, experiment: str, tmp_path: Path) -> tuple[str, str]:
    from mlflow.entities import Metric, Param, RunTag

    exp_id = client.create_experiment(experiment, artifact_location=str(tmp_path / "artifacts"))
    parent = client.create_run(
        exp_id,
        start_time=1_700_000_000_000,
        run_name="sweep",
        tags={"mlflow.source.name": "/nb/sweep.ipynb", "mlflow.source.type": "NOTEBOOK"},
    )
    pid = parent.info.run_id
    client.log_batch(
        pid,
        params=[Param("alpha", "0.5")],
        tags=[RunTag("team", "ml")],
        metrics=[Metric("rmse", 1.0 / (s + 1), 1_700_000_000_000 + s, s) for s in range(1500)],
    )
    (tmp_path / "model.txt").write_text("weights")
    client.log_artifact(pid, str(tmp_path / "model.txt"), "model")
    client.set_terminated(pid, "FINISHED", end_time=1_700_000_060_000)
    child = client.create_run(
        exp_id, start_time=1_700_000_001_000, run_name="trial-1", tags={"mlflow.parentRunId": pid}
    )
    cid = child.info.run_id
    client.log_param(cid, "alpha", "0.1")
    client.log_metric(cid, "rmse", 2.0, timestamp=1_700_000_002_000, step=7)
    client.set_terminated(cid, "FAILED", end_time=1_700_000_003_000)
    return pid, cid


def test_import_keeps_runs_histories_tags_and_artifacts(
    store: Store, client: Any, mlflow_uri: str, tmp_path: Path
) -> None:
    experiment = new_experiment()
    pid, cid = _mlflow_runs(client, experiment, tmp_path)
    results = import_runs(store, mlflow_uri, experiment)
    assert sorted(r.action for r in results) == ["imported", "imported"]
    ids = {r.mlflow_run_id: r.run_id for r in results}
    assert ids == {pid: pid, cid: cid}  # MLflow's ids are kept when free
    runs = {r["id"]: r for r in store.run_summaries([pid, cid])}
    parent, child = runs[pid], runs[cid]
    assert (parent["name"], parent["experiment"], parent["status"]) == (
        "sweep",
        experiment,
        "finished",
    )
    assert (parent["start_time"], parent["end_time"]) == (1_700_000_000.0, 1_700_000_060.0)
    assert parent["params"] == {"alpha": "0.5"} and parent["tags"]["team"] == "ml"
    assert parent["tags"]["mlflow.run_id"] == pid and parent["notebook_path"] == "/nb/sweep.ipynb"
    history = store.metric_history(pid, "rmse")
    assert len(history) == 1500 and history[3] == {
        "step": 3,
        "value": 0.25,
        "timestamp": 1_700_000_000.003,
        "cell_seq": None,
    }
    assert store.run_cells(parent) == []
    (art,) = store.artifacts_of(pid)
    assert art["path"] == "model/model.txt" and store.get_blob(art["blob_hash"]) == b"weights"
    assert (child["status"], child["parent_run_id"]) == ("failed", pid)
    assert store.metric_summary(cid)["rmse"]["step"] == 7
    again = import_runs(store, mlflow_uri, experiment)
    assert sorted(r.action for r in again) == ["skipped", "skipped"]
    assert len(store.list_run_ids(experiment)) == 2


def test_runs_exported_from_this_store_are_not_imported_back(
    store: Store, client: Any, mlflow_uri: str
) -> None:
    experiment = new_experiment()
    rid = _nbtrack_run(store, experiment, n=5)
    export_runs(store, [rid], mlflow_uri)
    (result,) = import_runs(store, mlflow_uri, experiment)
    assert (result.action, result.run_id) == ("exported", rid)
    assert store.list_run_ids(experiment) == [rid]


def test_importing_an_unknown_experiment_names_it(
    store: Store, client: Any, mlflow_uri: str
) -> None:
    with pytest.raises(nbtrack.errors.NotFoundError, match="no-such-exp"):
        import_runs(store, mlflow_uri, "no-such-exp")


def test_missing_mlflow_names_the_extra(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mlflow", None)
    with pytest.raises(ImportError, match=r"nbtrack\[mlflow\]"):
        export_runs(store, [], "sqlite:///x.db")


@pytest.mark.slow
def test_cli_exports_a_kernel_run_with_its_script_notebook_and_cells(
    kernel: Any, store_dir: Path, client: Any, mlflow_uri: str, tmp_path: Path
) -> None:
    kernel.ok("x = [1, 2, 3]")
    kernel.ok(
        "%%track --name kernel-run --experiment mlflow-e2e --param k=3\n"
        "import nbtrack\nfor i in x:\n    nbtrack.log_metric('v', i)"
    )
    run_id = json.loads(run_cli("runs", "--format", "json").stdout)["runs"][0]["id"]
    out = run_cli(
        "mlflow-export",
        run_id[:8],
        "--tracking-uri",
        mlflow_uri,
        "--experiment",
        "mlflow-e2e-x",
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert "(created)" in out.stdout
    mid = out.stdout.split("MLflow run ")[1].split()[0]
    names = {a.path for a in client.list_artifacts(mid, "nbtrack")}
    assert {"nbtrack/cells.json", "nbtrack/run.py", "nbtrack/run.ipynb"} <= names, out.stderr
    cells = json.loads(
        Path(client.download_artifacts(mid, "nbtrack/cells.json", str(tmp_path))).read_text()
    )
    assert [c["source"] for c in cells][1] == "x = [1, 2, 3]"
    again = run_cli(
        "mlflow-export",
        run_id,
        "--tracking-uri",
        mlflow_uri,
        "--experiment",
        "mlflow-e2e-x",
        cwd=tmp_path,
    )
    assert "(unchanged)" in again.stdout, again.stderr
    back = run_cli(
        "mlflow-import", "--tracking-uri", mlflow_uri, "--experiment", "mlflow-e2e-x", cwd=tmp_path
    )
    assert back.returncode == 0 and "exported from" in back.stdout, back.stderr
