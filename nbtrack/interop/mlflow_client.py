"""What the MLflow export and import share: the client, MLflow's limits, the tags that link runs."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

# MlflowClient.log_batch accepts at most this many of each per call (mlflow.utils.validation).
MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_PER_BATCH = 100
MAX_TAGS_PER_BATCH = 100
MAX_PARAM_VALUE = 6000

NBTRACK_RUN_TAG = "nbtrack.run_id"  # on an MLflow run exported from nbtrack
MLFLOW_RUN_TAG = "mlflow.run_id"  # on an nbtrack run imported from MLflow

TO_MLFLOW_STATUS = {
    "running": "RUNNING",
    "finished": "FINISHED",
    "failed": "FAILED",
    "killed": "KILLED",
}
FROM_MLFLOW_STATUS = {
    "RUNNING": "running",
    "SCHEDULED": "running",
    "FINISHED": "finished",
    "FAILED": "failed",
    "KILLED": "killed",
}


def client(tracking_uri: str) -> Any:
    """An ``MlflowClient`` for ``tracking_uri``; ImportError naming the extra when mlflow is missing."""
    try:
        from mlflow import MlflowClient
    except ImportError as exc:
        raise ImportError(
            "MLflow interoperability needs mlflow: pip install 'nbtrack[mlflow]'"
        ) from exc
    return MlflowClient(tracking_uri=tracking_uri)


def chunks(items: list[T], n: int) -> Iterator[list[T]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


def all_runs(mlflow: Any, experiment_ids: list[str], filter_string: str = "") -> Iterable[Any]:
    """Every run of the experiments (active ones), page by page."""
    token = None
    while True:
        page = mlflow.search_runs(experiment_ids, filter_string, max_results=1000, page_token=token)
        yield from page
        token = page.token
        if not token:
            return


def quote(value: str) -> str:
    """A string literal for an MLflow filter."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
