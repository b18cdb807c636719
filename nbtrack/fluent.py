"""The module-level logging API, named as MLflow's: ``start_run``, ``log_metric``, ... log to
the innermost active run, starting one if there is none."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

from . import validation as v
from .errors import NbtrackError, ValidationError
from .pending import in_kernel
from .session import current_user, get_session
from .store import Store, open_store
from .tracking import Run, active_runs, register


def start_run(
    name: str | None = None,
    experiment: str | None = None,
    *,
    params: Mapping[str, Any] | None = None,
    tags: Mapping[str, Any] | None = None,
    description: str | None = None,
    nested: bool = True,
    log_system_metrics: bool = True,
    store: str | os.PathLike[str] | Store | None = None,
    run_id: str | None = None,
) -> Run:
    """Start a run (a child of the active run, if any). Use ``with start_run(...) as run:`` or
    call :func:`end_run`. ``run_id`` chooses the new run's id (hex); it must not exist yet."""
    st = store if isinstance(store, Store) else open_store(store)
    session = get_session(st, "kernel" if in_kernel(st) else "script")
    if name is not None:
        name = v.check_label("run name", name)
    if experiment is None:
        experiment = session.default_experiment()
    experiment = v.check_label("experiment name", experiment)
    if run_id is not None and (len(run_id) != 32 or any(c not in "0123456789abcdef" for c in run_id)):
        raise ValidationError(f"run_id must be 32 lowercase hex characters, got {run_id!r}")
    parent = active_runs[-1] if active_runs and nested else None
    run = Run(session, name, experiment, parent, log_system_metrics, run_id)
    checked_params = dict(v.check_param(k, val) for k, val in v.check_mapping("params", params or {}).items())
    checked_tags = dict(v.check_tag(k, val) for k, val in v.check_mapping("tags", tags or {}).items())
    row = {
        "id": run.id,
        "name": run.name,
        "status": "running",
        "start_time": time.time(),
        "user": current_user(),
        "session_id": session.id,
        "start_seq": run.start_seq,
        "parent_run_id": run.parent_id,
        "notes": description,
        **session.revision(),
    }
    # Written with the run's first flush (at the cell's end, by the flusher within 0.5 s, or
    # at end_run, in one transaction with the closing values): a run costs one write, not two.
    run._create = (row, experiment, checked_params, checked_tags)
    register(run)
    return run


def active_run() -> Run | None:
    return active_runs[-1] if active_runs else None


def _current() -> Run:
    """The innermost active run; like MLflow, one is started if there is none."""
    return active_runs[-1] if active_runs else start_run()


def end_run(status: str = "finished") -> None:
    """End the innermost active run."""
    if not active_runs:
        raise NbtrackError("no active run to end")
    active_runs[-1].end(status)


def log_param(key: str, value: Any) -> None:
    _current().log_param(key, value)


def log_params(params: Mapping[str, Any]) -> None:
    _current().log_params(params)


def set_tag(key: str, value: Any) -> None:
    _current().set_tag(key, value)


def set_tags(tags: Mapping[str, Any]) -> None:
    _current().set_tags(tags)


def log_metric(key: str, value: Any, step: int | None = None, timestamp: Any = None) -> None:
    _current().log_metric(key, value, step, timestamp)


def log_metrics(metrics: Mapping[str, Any], step: int | None = None, timestamp: Any = None) -> None:
    _current().log_metrics(metrics, step, timestamp)


def log_artifact(local_path: str | os.PathLike[str], artifact_path: str | None = None) -> str:
    return _current().log_artifact(local_path, artifact_path)


def log_text(text: str, artifact_file: str) -> None:
    _current().log_text(text, artifact_file)


def log_dict(dictionary: Mapping[str, Any], artifact_file: str) -> None:
    _current().log_dict(dictionary, artifact_file)


def log_figure(figure: Any, artifact_file: str) -> None:
    _current().log_figure(figure, artifact_file)


def log_input(path: str | os.PathLike[str], name: str | None = None) -> str:
    return _current().log_input(path, name)
