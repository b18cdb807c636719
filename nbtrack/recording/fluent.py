"""The module-level logging API, named as MLflow's: ``start_run``, ``log_metric``, ... log to
the innermost active run, starting one if there is none.

A run started that way (implicitly) lasts, as in MLflow, until ``end_run()`` or the process
exits, except in an IPython shell or kernel: there it ends with the cell that started it, so
that it does not linger and make every later ``%%track`` run its child.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from nbtrack import validation as v
from nbtrack.errors import NbtrackError, StoreError, ValidationError, warn_failure
from nbtrack.recording.active import active_runs, register
from nbtrack.recording.pending import in_kernel
from nbtrack.recording.run import Run
from nbtrack.recording.session import current_user, get_session
from nbtrack.recording.unrecorded import UnrecordedRun
from nbtrack.store import open_store

if TYPE_CHECKING:
    from nbtrack.store import Store  # imported on first use: SQLAlchemy is slow to import


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
    call :func:`end_run`. ``run_id`` chooses the new run's id (hex); it must not exist yet.

    In an IPython shell whose default store cannot be opened, the run is not recorded: one
    warning says why, and the cell runs as it would without nbtrack."""
    try:
        st = open_store(store)
    except StoreError as exc:
        if store is not None or _shell() is None:
            raise
        unrecorded = UnrecordedRun(name, experiment, exc)
        unrecorded._on_end = _unrecorded.remove
        _unrecorded.append(unrecorded)
        return cast(Run, unrecorded)  # takes every call a Run takes, and keeps nothing
    session = get_session(st, "kernel" if in_kernel(st) else "script")
    if name is not None:
        name = v.check_label("run name", name)
    if experiment is None:
        experiment = session.default_experiment()
    experiment = v.check_label("experiment name", experiment)
    if run_id is not None and (
        len(run_id) != 32 or any(c not in "0123456789abcdef" for c in run_id)
    ):
        raise ValidationError(f"run_id must be 32 lowercase hex characters, got {run_id!r}")
    parent = active_runs[-1] if active_runs and nested else None
    run = Run(session, name, experiment, parent, log_system_metrics, run_id)
    checked_params = dict(
        v.check_param(k, val) for k, val in v.check_mapping("params", params or {}).items()
    )
    checked_tags = dict(
        v.check_tag(k, val) for k, val in v.check_mapping("tags", tags or {}).items()
    )
    row = {
        "id": run.id,
        "name": run.name,
        "status": "running",
        "start_time": run.start_time,
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


# Runs started while the store cannot be opened (UnrecordedRun), innermost last.
_unrecorded: list[UnrecordedRun] = []


def active_run() -> Run | None:
    if active_runs:
        return active_runs[-1]
    return cast(Run, _unrecorded[-1]) if _unrecorded else None


def _current(caller: str) -> Run:
    """The innermost active run; like MLflow, one is started if there is none."""
    return active_run() or _start_implicit(caller)


def _start_implicit(caller: str) -> Run:
    """Start a run for a logging call made outside any run; in an IPython shell it ends with
    the current cell (:class:`CellScopedRun`), and the first such run says so on stderr."""
    global _announced
    run = start_run()
    if isinstance(run, UnrecordedRun):
        run.end()  # nothing to end with the cell: each call makes (and forgets) one
        return run
    shell = _shell()
    if shell is not None:
        CellScopedRun(shell, run)
        if not _announced:  # once per process: the rule does not change from one run to the next
            _announced = True
            print(
                f"nbtrack: started run {run.name} ({run.id[:8]}) for {caller} outside a run; it ends with this "
                "cell. Use %%track or nbtrack.start_run() to group cells.",
                file=sys.stderr,
            )
    return run


_announced = False


def _shell() -> Any:
    """The running IPython shell or kernel, if any (IPython is never imported for this)."""
    ipython = sys.modules.get("IPython")
    return ipython.get_ipython() if ipython is not None else None


class CellScopedRun:
    """Ends ``run`` when the cell running now ends: finished, failed if the cell raised, killed
    if it was interrupted. Cells that this cell runs itself (``%run``, ``run_cell``) are
    counted, so the run outlives them and ends with its own cell."""

    def __init__(self, shell: Any, run: Run):
        self.events = shell.events
        self.run = run
        self.depth = 0
        self.events.register("pre_run_cell", self.pre_run_cell)
        self.events.register("post_run_cell", self.post_run_cell)

    def pre_run_cell(self, info: Any) -> None:
        self.depth += 1

    def post_run_cell(self, result: Any) -> None:
        if self.depth > 0:
            self.depth -= 1
            return
        for name, fn in (
            ("pre_run_cell", self.pre_run_cell),
            ("post_run_cell", self.post_run_cell),
        ):
            try:
                self.events.unregister(name, fn)
            except ValueError:
                pass
        error = getattr(result, "error_in_exec", None)
        status = (
            "finished"
            if error is None
            else "killed"
            if isinstance(error, KeyboardInterrupt)
            else "failed"
        )
        try:
            self.run.end(status, error)
        except BaseException as exc:  # nbtrack's hook time: an interrupt here is one warning
            warn_failure(f"could not end run {self.run.id[:8]} at the end of its cell", exc)


def end_run(status: str = "finished") -> None:
    """End the innermost active run."""
    if not active_runs and _unrecorded:
        _unrecorded[-1].end(status)
        return
    if not active_runs:
        # the MLflow habit of log_metric in one cell and end_run() in a later one
        hint = (
            " (a run that a logging call started outside a run ends with its cell)"
            if _announced
            else ""
        )
        raise NbtrackError(f"no active run to end{hint}")
    active_runs[-1].end(status)


def log_param(key: str, value: Any) -> None:
    _current("log_param").log_param(key, value)


def log_params(params: Mapping[str, Any]) -> None:
    _current("log_params").log_params(params)


def set_tag(key: str, value: Any) -> None:
    _current("set_tag").set_tag(key, value)


def set_tags(tags: Mapping[str, Any]) -> None:
    _current("set_tags").set_tags(tags)


def log_metric(key: str, value: Any, step: int | None = None, timestamp: Any = None) -> None:
    _current("log_metric").log_metric(key, value, step, timestamp)


def log_metrics(metrics: Mapping[str, Any], step: int | None = None, timestamp: Any = None) -> None:
    _current("log_metrics").log_metrics(metrics, step, timestamp)


def log_artifact(local_path: str | os.PathLike[str], artifact_path: str | None = None) -> str:
    return _current("log_artifact").log_artifact(local_path, artifact_path)


def log_text(text: str, artifact_file: str) -> None:
    _current("log_text").log_text(text, artifact_file)


def log_dict(dictionary: Mapping[str, Any], artifact_file: str) -> None:
    _current("log_dict").log_dict(dictionary, artifact_file)


def log_figure(figure: Any, artifact_file: str) -> None:
    _current("log_figure").log_figure(figure, artifact_file)


def log_input(data: Any, name: str | None = None, context: str | None = None) -> str:
    """Declare a dataset the active run uses (a DataFrame, an array or a file path); returns
    its digest. See :meth:`Run.log_input`."""
    return _current("log_input").log_input(data, name, context)
