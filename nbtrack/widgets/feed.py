"""The hook the tracking layer calls after each metric log, feeding live charts.

Deliberately light (no widget imports): with no live chart open, ``on_metrics`` is one
truth test of an empty list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol


class MetricSink(Protocol):
    def ingest(self, run_id: str, points: Sequence[Sequence[Any]]) -> None: ...

    def ingest_point(self, run_id: str, key: str, value: float, step: int, timestamp: float) -> None: ...


sinks: list[MetricSink] = []


def on_metrics(run_id: str, points: Sequence[Sequence[Any]]) -> None:
    """Points just logged to ``run_id``: tuples ``(key, value, step, timestamp, ...)``.

    Never raises into the caller: a failing live chart is detached with one warning line.
    """
    if not sinks:
        return
    for sink in list(sinks):
        try:
            sink.ingest(run_id, points)
        except Exception as exc:
            from nbtrack.errors import warn_failure

            if sink in sinks:
                sinks.remove(sink)
            warn_failure("live chart stopped updating", exc)


def on_point(run_id: str, key: str, value: float, step: int, timestamp: float) -> None:
    """One point just logged; the signature of ``nbtrack.recording.tracking.add_metric_listener``."""
    if not sinks:
        return
    for sink in list(sinks):
        try:
            sink.ingest_point(run_id, key, value, step, timestamp)
        except Exception as exc:
            from nbtrack.errors import warn_failure

            if sink in sinks:
                sinks.remove(sink)
            warn_failure("live chart stopped updating", exc)
