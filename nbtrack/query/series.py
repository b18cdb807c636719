"""Metric series of runs, read once for every view: full histories as arrays (for the charts)
and the JSON payload of one series, downsampled by :mod:`nbtrack.query.downsample`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from nbtrack.errors import NotFoundError
from nbtrack.query.downsample import downsample_indices
from nbtrack.query.jsonsafe import json_number

if TYPE_CHECKING:
    from nbtrack.store import Store

X_AXES = ("step", "time", "relative")


@dataclass
class Series:
    """One metric of one run at full resolution, in step order."""

    run_id: str
    run_label: str
    metric: str
    step: np.ndarray
    value: np.ndarray
    timestamp: np.ndarray
    start_time: float = 0.0

    def x(self, axis: str) -> np.ndarray:
        """The x values on ``axis`` (one of :data:`X_AXES`)."""
        if axis == "step":
            return self.step
        if axis == "time":
            return self.timestamp * 1000.0  # vega-lite temporal values are milliseconds
        return self.timestamp - self.start_time


@dataclass
class SeriesSet:
    series: list[Series] = field(default_factory=list)
    run_labels: dict[str, str] = field(default_factory=dict)


def run_label(run: dict[str, Any]) -> str:
    """How charts name a run: ``name (id prefix)``."""
    return f"{run['name']} ({run['id'][:7]})"


def load_series(store: Store, run_ids: list[str], metrics: list[str] | None) -> SeriesSet:
    """Full histories of ``metrics`` (default: every non-``system/`` metric) of the runs."""
    runs = store.run_summaries(run_ids)
    out = SeriesSet(run_labels={r["id"]: run_label(r) for r in runs})
    for run in runs:
        keys = (
            metrics
            if metrics is not None
            else sorted(k for k in run["metrics"] if not k.startswith("system/"))
        )
        for key in keys:
            hist = store.metric_history(run["id"], key)
            if not hist:
                continue
            out.series.append(
                Series(
                    run_id=run["id"],
                    run_label=out.run_labels[run["id"]],
                    metric=key,
                    step=np.fromiter((p["step"] for p in hist), np.float64, len(hist)),
                    value=np.fromiter((p["value"] for p in hist), np.float64, len(hist)),
                    timestamp=np.fromiter((p["timestamp"] for p in hist), np.float64, len(hist)),
                    start_time=float(run["start_time"]),
                )
            )
    return out


def metric_series(
    store: Store, ref: str, key: str, max_points: int | None = None
) -> dict[str, Any]:
    """One metric of a run (an id or unique prefix): ``{"run_id", "key", "total", "downsampled",
    "points": [{"step", "value", "timestamp", "cell_seq"}]}``.

    A history longer than ``max_points`` keeps the points :func:`downsample_indices` picks on the
    step axis (finite ones only): the very points the chart widgets draw. A shorter one comes
    whole, NaN and infinities included (as ``"NaN"``, ``"Infinity"``, ``"-Infinity"``).
    """
    run_id = store.resolve_run_id(ref)
    points = store.metric_history(run_id, key)
    if not points and key not in store.metric_summary(run_id):
        raise NotFoundError(f"run {run_id} has no metric {key!r}")
    total = len(points)
    if max_points and total > max_points:
        steps = np.fromiter((p["step"] for p in points), np.float64, total)
        values = np.fromiter((p["value"] for p in points), np.float64, total)
        points = [points[i] for i in downsample_indices(steps, values, max_points).tolist()]
    return {
        "run_id": run_id,
        "key": key,
        "total": total,
        "downsampled": len(points) < total,
        "points": [{**p, "value": json_number(p["value"])} for p in points],
    }
