"""A run that records nothing: what ``start_run`` and ``%%track`` give in an IPython shell whose
store cannot be opened (a directory that cannot be made, a read-only mount), so the cell runs as
it would without nbtrack and says once that its run is not recorded, and why."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from nbtrack import validation as v
from nbtrack.errors import warn_failure


class UnrecordedRun:
    """Takes the calls a :class:`~nbtrack.recording.run.Run` takes, checks their arguments as
    a run does, and keeps nothing."""

    def __init__(self, name: str | None, experiment: str | None, reason: BaseException):
        self.id = uuid.uuid4().hex
        self.name = name or f"run-{self.id[:8]}"
        self.experiment = experiment or "Default"
        self.parent_id = None
        self.status = "running"
        self.reason = reason
        self._on_end: Any = None
        warn_failure("this run is not recorded: the store cannot be opened", reason)

    def __repr__(self) -> str:
        return f"<nbtrack.Run {self.id[:8]} {self.name!r} (not recorded) status={self.status}>"

    def log_param(self, key: str, value: Any) -> None:
        v.check_param(key, value)

    def log_params(self, params: Mapping[str, Any]) -> None:
        for k, val in v.check_mapping("params", params).items():
            v.check_param(k, val)

    def set_tag(self, key: str, value: Any) -> None:
        v.check_tag(key, value)

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        for k, val in v.check_mapping("tags", tags).items():
            v.check_tag(k, val)

    def log_metric(
        self, key: str, value: Any, step: int | None = None, timestamp: Any = None
    ) -> None:
        v.check_name("metric", key)
        v.check_metric_value(key, value)

    def log_metrics(
        self, metrics: Mapping[str, Any], step: int | None = None, timestamp: Any = None
    ) -> None:
        for key, value in v.check_mapping("metrics", metrics).items():
            self.log_metric(key, value)

    def log_artifact(self, local_path: Any, artifact_path: str | None = None) -> str:
        return artifact_path or ""

    def log_text(self, text: str, artifact_file: str) -> None:
        pass

    def log_dict(self, dictionary: Mapping[str, Any], artifact_file: str) -> None:
        pass

    def log_figure(self, figure: Any, artifact_file: str) -> None:
        pass

    def log_input(self, data: Any, name: str | None = None, context: str | None = None) -> str:
        return ""

    def flush(self, wait: float | None = None) -> bool:
        return True

    def end(self, status: str = "finished", error: BaseException | None = None) -> None:
        if self.status != "running":
            return
        self.status = status
        if self._on_end is not None:
            self._on_end(self)

    def __enter__(self) -> UnrecordedRun:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc is None:
            self.end("finished")
        else:
            self.end("killed" if isinstance(exc, KeyboardInterrupt) else "failed", exc)
