"""Metric series of runs (:mod:`nbtrack.query.series`) as chart rows: smoothed, downsampled by
the one downsampler (:mod:`nbtrack.query.downsample`), finite values only."""

from __future__ import annotations

from typing import Any

import numpy as np

from nbtrack.errors import ValidationError
from nbtrack.query.downsample import DEFAULT_POINTS, downsample_indices
from nbtrack.query.series import X_AXES, SeriesSet


def check_axis(x: str) -> str:
    if x not in X_AXES:
        raise ValidationError(f"x must be one of {', '.join(X_AXES)}; got {x!r}")
    return x


def check_smoothing(smoothing: float) -> float:
    if not 0.0 <= float(smoothing) < 1.0:
        raise ValidationError(f"smoothing is an EMA weight in [0, 1); got {smoothing!r}")
    return float(smoothing)


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
    """Chart rows ``{run, run_id, metric, x, value[, smoothed][, single]}`` and notes on
    dropped points (``single``: the series has one point)."""
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
            row = {
                "run": s.run_label,
                "run_id": s.run_id,
                "metric": s.metric,
                "x": xv[j],
                "value": yv[j],
            }
            if sv is not None:
                row["smoothed"] = sv[j]
            if len(xv) == 1:
                row["single"] = True  # drawn as a point: a line through one point shows nothing
            rows.append(row)
    notes = []
    if dropped_nonfinite:
        notes.append(f"{dropped_nonfinite} NaN/inf point(s) not drawn")
    if dropped_nonpositive:
        notes.append(f"{dropped_nonpositive} point(s) <= 0 not drawn on the log scale")
    if downsampled:
        notes.append(
            f"{downsampled} long series downsampled to ~{max_points} points (extremes kept)"
        )
    return rows, notes
