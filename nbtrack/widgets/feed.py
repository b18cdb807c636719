"""Where live charts hear of logged metric points.

``nbtrack.widgets.live_charts`` subscribes :func:`on_point` to the tracking layer with
``nbtrack.recording.listeners.add_metric_listener`` when the first live chart opens (the tracker
never imports widgets). Deliberately light (no widget imports): with no live chart open,
``on_point`` is one truth test of an empty list.
"""

from __future__ import annotations

from typing import Protocol


class MetricSink(Protocol):
    def ingest_point(
        self, run_id: str, key: str, value: float, step: int, timestamp: float
    ) -> None: ...


sinks: list[MetricSink] = []


def on_point(run_id: str, key: str, value: float, step: int, timestamp: float) -> None:
    """One point just logged to ``run_id``, passed to every open live chart.

    Never raises into the caller: a failing live chart is detached with one warning line.
    """
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
