"""Fixtures for the tests that talk to a real MLflow: one MLflow SQLite store a module, a client on
it and an nbtrack store a test. A test module takes them with
``pytest_plugins = ["mlflow_fixtures"]``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nbtrack.store import Store


@pytest.fixture(scope="module")
def mlflow_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One MLflow SQLite store for the module (creating one runs MLflow's migrations, which is slow);
    each test uses experiments of its own."""
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"
    MlflowClient(tracking_uri=uri).search_experiments()
    return uri


@pytest.fixture
def client(mlflow_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    from mlflow import MlflowClient

    monkeypatch.chdir(tmp_path)  # MLflow's default artifact root is ./mlruns
    return MlflowClient(tracking_uri=mlflow_uri)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(str(tmp_path / "store"))
