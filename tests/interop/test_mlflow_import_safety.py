"""mlflow-import of hostile or damaged MLflow runs: artifacts only from the MLflow store's own
artifact root, no secret files, secrets redacted, one unreadable artifact skipped, no escapes."""

from __future__ import annotations

import os
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest

from nbtrack.errors import NbtrackWarning
from nbtrack.interop.mlflow_import import import_runs
from nbtrack.store import Store

pytest.importorskip("mlflow")


@pytest.fixture
def mlflow_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Any]:
    from mlflow import MlflowClient

    monkeypatch.chdir(tmp_path)  # MLflow's default artifact root is ./mlruns
    path = tmp_path / "mlflow.db"
    uri = f"sqlite:///{path}"
    return uri, MlflowClient(tracking_uri=uri)


def test_import_keeps_secrets_out_and_skips_what_it_cannot_read(
    mlflow_db: tuple[str, Any], tmp_path: Path
) -> None:
    # Given an MLflow run with a secret-looking param, an ANSI run name, a .env artifact,
    # an artifact that cannot be copied and a plain one
    uri, client = mlflow_db
    exp = client.create_experiment(f"exp-{uuid.uuid4().hex[:8]}")
    run = client.create_run(exp, run_name="\x1b[31mred\x1b[0m")
    rid = run.info.run_id
    client.log_param(rid, "db_password", "hunter2")
    client.log_param(rid, "lr", "0.1")
    client.set_tag(rid, "url", "postgres://ana:s3cret@db/x")
    for name, text in [("model.txt", "weights"), (".env", "API_KEY=abc")]:
        (tmp_path / name).write_text(text)
        client.log_artifact(rid, str(tmp_path / name))
    art_dir = Path(run.info.artifact_uri.removeprefix("file://"))
    os.mkfifo(art_dir / "pipe.bin")  # listed like a file, but copying it fails
    client.set_terminated(rid)
    store = Store(str(tmp_path / "store"))

    # When it is imported
    with pytest.warns(NbtrackWarning) as caught:
        (result,) = import_runs(store, uri)

    # Then the import finished, said what it left out, and kept nothing secret
    texts = " ".join(str(w.message) for w in caught)
    assert "'.env' looks secret" in texts and "'pipe.bin' could not be read" in texts
    (row,) = store.run_summaries([result.run_id])
    assert "\x1b" not in row["name"]
    assert row["params"] == {"db_password": "[redacted]", "lr": "0.1"}
    assert "s3cret" not in row["tags"]["url"]
    paths = {a["path"] for a in store.artifacts_of(result.run_id)}
    assert paths == {"model.txt"}


def test_a_run_pointing_outside_the_artifact_root_brings_no_files(
    mlflow_db: tuple[str, Any], tmp_path: Path
) -> None:
    # Given an MLflow run whose row was edited to point at a private key's directory
    uri, client = mlflow_db
    exp = client.create_experiment(f"exp-{uuid.uuid4().hex[:8]}")
    run = client.create_run(exp, run_name="pointed")
    client.set_terminated(run.info.run_id)
    keys = tmp_path / "home" / "keys"
    keys.mkdir(parents=True)
    (keys / "id_rsa").write_text("-----BEGIN OPENSSH PRIVATE KEY-----")
    (keys / "notes.txt").write_text("not secret, but not the run's either")
    with sqlite3.connect(tmp_path / "mlflow.db") as db:
        db.execute(
            "UPDATE runs SET artifact_uri = ? WHERE run_uuid = ?", (str(keys), run.info.run_id)
        )
    store = Store(str(tmp_path / "store"))

    # When it is imported
    with pytest.warns(NbtrackWarning, match="outside its experiment"):
        (result,) = import_runs(store, uri)

    # Then the run is there without a single file from that directory
    assert result.action == "imported"
    assert store.artifacts_of(result.run_id) == []
