"""nbtrack with recording turned off, for scripts exported with ``--no-tracking``.

The script imports this module as ``nbtrack``: the calls that would start a run or write to the
store (``start_run``, ``log_metric``, ``set_tag``, ``rename_run``...) do nothing, so the cells'
own ``nbtrack.log_*`` calls neither fail nor record; every other name (``search_runs``,
``get_run``, the errors...) is nbtrack's own. :func:`untracked` does the same for one block:
an export runs the body of another run's ``%%track`` cell in it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

import nbtrack

RECORDING = frozenset(
    {
        "log_param",
        "log_params",
        "log_metric",
        "log_metrics",
        "set_tag",
        "set_tags",
        "log_text",
        "log_dict",
        "log_figure",
        "log_input",
        "rename_run",
        "set_run_notes",
        "set_run_tag",
        "set_run_tags",
        "delete_run_tag",
        "move_run",
        "delete_run",
        "restore_run",
        "delete_runs",
        "restore_runs",
        "create_experiment",
        "rename_experiment",
        "delete_experiment",
        "restore_experiment",
        "import_runs",
        "autolog",  # fits outside a run would start runs of their own
    }
)


# Every name whose call would record: what an export runs `untracked` when another run's cell calls it.
RECORDS = RECORDING | {"start_run", "end_run", "log_artifact"}


class NoRun:
    """What ``start_run`` gives here: a context manager whose methods do nothing."""

    id = None

    def __init__(self, name: str | None = None, experiment: str | None = None) -> None:
        self.name, self.experiment = name, experiment

    def __enter__(self) -> NoRun:
        _active.append(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.end()

    def end(self, status: str = "finished") -> None:
        if self in _active:
            _active.remove(self)

    def log_artifact(self, local_path: Any, artifact_path: str | None = None) -> str:
        return log_artifact(local_path, artifact_path)

    def __getattr__(self, name: str) -> Any:
        return _nothing


_active: list[NoRun] = []


def _nothing(*args: Any, **kwargs: Any) -> None:
    return None


def start_run(name: str | None = None, experiment: str | None = None, **kwargs: Any) -> NoRun:
    return NoRun(name, experiment)


def end_run(status: str = "finished") -> None:
    if _active:
        _active[-1].end(status)


def active_run() -> NoRun | None:
    return _active[-1] if _active else None


def log_artifact(local_path: Any, artifact_path: str | None = None) -> str:
    """The artifact's path in the run, as nbtrack would name it; nothing is stored."""
    name = os.path.basename(os.fspath(local_path))
    return f"{artifact_path.rstrip('/')}/{name}" if artifact_path else name


def __getattr__(name: str) -> Any:
    if name in RECORDING:
        return _nothing
    return getattr(nbtrack, name)


@contextmanager
def untracked(namespace: MutableMapping[str, Any]) -> Iterator[None]:
    """Within the block the name ``nbtrack`` in ``namespace`` (a script's ``globals()``) is this
    stand-in, so the block's ``nbtrack.log_*`` calls record nothing; restored after."""
    missing = object()
    held = namespace.get("nbtrack", missing)
    namespace["nbtrack"] = sys.modules[__name__]
    try:
        yield
    finally:
        if held is missing:
            namespace.pop("nbtrack", None)
        else:
            namespace["nbtrack"] = held
