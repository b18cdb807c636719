"""Metric series of runs as chart-ready records: smoothed, downsampled, JSON-safe."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from nbtrack.errors import ValidationError
from nbtrack.widgets.downsample import DEFAULT_POINTS, downsample_indices

if TYPE_CHECKING:
    from nbtrack.store import Store

X_AXES = ("step", "time", "relative")


@dataclass
class Series:
    """One metric of one run at full resolution."""

    run_id: str
    run_label: str
    metric: str
    step: np.ndarray
    value: np.ndarray
    timestamp: np.ndarray
    start_time: float = 0.0

    def x(self, axis: str) -> np.ndarray:
        if axis == "step":
            return self.step
        if axis == "time":
            return self.timestamp * 1000.0  # vega-lite temporal values are milliseconds
        return self.timestamp - self.start_time


@dataclass
class SeriesSet:
    series: list[Series] = field(default_factory=list)
    run_labels: dict[str, str] = field(default_factory=dict)


def check_axis(x: str) -> str:
    if x not in X_AXES:
        raise ValidationError(f"x must be one of {', '.join(X_AXES)}; got {x!r}")
    return x


def check_smoothing(smoothing: float) -> float:
    if not 0.0 <= float(smoothing) < 1.0:
        raise ValidationError(f"smoothing is an EMA weight in [0, 1); got {smoothing!r}")
    return float(smoothing)


def run_label(run: dict[str, Any]) -> str:
    return f"{run['name']} ({run['id'][:7]})"


def load_series(store: Store, run_ids: list[str], metrics: list[str] | None) -> SeriesSet:
    """Full histories of ``metrics`` (default: every non-system metric) of the runs."""
    runs = store.run_summaries(run_ids)
    out = SeriesSet(run_labels={r["id"]: run_label(r) for r in runs})
    for run in runs:
        keys = metrics if metrics is not None else sorted(k for k in run["metrics"] if not k.startswith("system/"))
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


def ema(values: np.ndarray, weight: float) -> np.ndarray:
    """Debiased exponential moving average (TensorBoard's smoothing) over finite values."""
    out = np.full(values.shape, np.nan)
    finite = np.isfinite(values)
    y = values[finite]
    if weight <= 0 or y.size == 0:
        return values.copy()
    acc = _ema_raw(y, weight)
    debias = 1.0 - weight ** np.arange(1, y.size + 1)
    out[finite] = acc / debias
    return out


def _ema_raw(y: np.ndarray, w: float) -> np.ndarray:
    """``s[t] = w*s[t-1] + (1-w)*y[t]`` from ``s[-1] = 0``, vectorised in blocks short
    enough that ``w**-block`` stays far from overflow."""
    block = int(np.clip(-250.0 / np.log10(w), 16, 8192))
    out = np.empty_like(y)
    powers = w ** np.arange(block, dtype=np.float64)  # w^j
    inv = 1.0 / powers  # w^-j
    prev = 0.0
    for start in range(0, y.size, block):
        chunk = y[start : start + block]
        m = chunk.size
        acc = np.cumsum(chunk * inv[:m]) * powers[:m] * (1.0 - w)
        acc += prev * powers[:m] * w
        out[start : start + m] = acc
        prev = acc[-1]
    return out


def records(
    data: SeriesSet,
    x: str = "step",
    smoothing: float = 0.0,
    log_scale: bool = False,
    max_points: int = DEFAULT_POINTS,
) -> tuple[list[dict[str, Any]], list[str]]:
    """Chart rows ``{run, run_id, metric, x, value[, smoothed]}`` and notes on dropped points."""
    rows: list[dict[str, Any]] = []
    dropped_nonfinite = dropped_nonpositive = downsampled = 0
    for s in data.series:
        xs = s.x(x)
        order = np.argsort(xs, kind="stable") if xs.size and np.any(np.diff(xs) < 0) else None
        vals = s.value if order is None else s.value[order]
        xs = xs if order is None else xs[order]
        smooth = ema(vals, smoothing) if smoothing > 0 else None
        keep = np.isfinite(vals)
        if log_scale:
            positive = keep & (vals > 0)
            dropped_nonpositive += int(keep.sum() - positive.sum())
            keep = positive
        dropped_nonfinite += int((~np.isfinite(vals)).sum())
        masked = np.where(keep, vals, np.nan)
        idx = downsample_indices(xs, masked, max_points)
        if idx.size < keep.sum():
            downsampled += 1
        xv = xs[idx].tolist()
        yv = vals[idx].tolist()
        sv = smooth[idx].tolist() if smooth is not None else None
        for j in range(len(xv)):
            row = {"run": s.run_label, "run_id": s.run_id, "metric": s.metric, "x": xv[j], "value": yv[j]}
            if sv is not None:
                row["smoothed"] = sv[j]
            rows.append(row)
    notes = []
    if dropped_nonfinite:
        notes.append(f"{dropped_nonfinite} NaN/inf point(s) not drawn")
    if dropped_nonpositive:
        notes.append(f"{dropped_nonpositive} point(s) <= 0 not drawn on the log scale")
    if downsampled:
        notes.append(f"{downsampled} long series downsampled to ~{max_points} points (extremes kept)")
    return rows, notes
