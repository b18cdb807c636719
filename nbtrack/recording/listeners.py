"""Who hears of every logged metric point as it is logged: the live charts subscribe here, so
the recorder never imports widgets. With no listener, a logged point costs one truth test."""

from __future__ import annotations

from collections.abc import Callable

from nbtrack.errors import warn_failure

MetricListener = Callable[[str, str, float, int, float], None]

metric_listeners: list[MetricListener] = []


def add_metric_listener(fn: MetricListener) -> None:
    """Call ``fn(run_id, key, value, step, timestamp)`` on every logged point (live charts)."""
    metric_listeners.append(fn)


def remove_metric_listener(fn: MetricListener) -> None:
    if fn in metric_listeners:
        metric_listeners.remove(fn)


def notify(run_id: str, key: str, value: float, step: int, ts: float) -> None:
    """Tell every listener of a point; one that fails is removed, with a warning."""
    for fn in list(metric_listeners):
        try:
            fn(run_id, key, value, step, ts)
        except Exception as exc:
            remove_metric_listener(fn)
            warn_failure("a live metric listener failed and was removed", exc)
