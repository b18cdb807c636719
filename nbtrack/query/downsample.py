"""The one downsampler of metric series, for every view that draws one (MinMax-preselected LTTB).

Largest-Triangle-Three-Buckets keeps the visual shape of a line; a min/max preselection
(MinMaxLTTB, Van Der Donckt et al. 2023) makes it fast on millions of points, and the first,
last, smallest and largest points are always kept so no extreme disappears from a chart. The
server's series endpoint, ``nbtrack show --metric`` and the chart widgets all pick their points
here, so one curve looks the same everywhere.
"""

from __future__ import annotations

from typing import Any

import numpy as np

DEFAULT_POINTS = 1500
_PRESELECT_RATIO = 4  # min/max buckets per output point before LTTB runs


def downsample_indices(x: Any, y: Any, n_out: int = DEFAULT_POINTS) -> np.ndarray:
    """Indices (sorted, unique) of at most ``n_out`` points (``n_out`` >= 5) of ``(x, y)`` to draw.

    ``x`` must be non-decreasing. Non-finite ``y`` values are never chosen; a series with at most
    ``n_out`` finite points keeps them all. The first and last finite points and the global
    minimum and maximum are always kept.
    """
    xs = np.asarray(x, dtype=np.float64)
    ys = np.asarray(y, dtype=np.float64)
    if xs.shape != ys.shape or xs.ndim != 1:
        raise ValueError(f"x and y must be 1-d arrays of one length, got {xs.shape} and {ys.shape}")
    finite = np.flatnonzero(np.isfinite(ys))
    n_out = max(n_out, 5)
    if finite.size <= n_out:
        return finite
    if finite.size == ys.size:
        fx, fy, base = xs, ys, None
    else:
        fx, fy, base = xs[finite], ys[finite], finite
    cand = np.arange(fy.size)
    if fy.size > _PRESELECT_RATIO * n_out * 2:
        cand = minmax_indices(fy, _PRESELECT_RATIO * n_out)
    chosen = cand[_lttb(fx[cand], fy[cand], n_out - 2)]  # room for the minimum and the maximum
    extremes = np.array([0, fy.size - 1, int(np.argmin(fy)), int(np.argmax(fy))])
    out = np.union1d(chosen, extremes)
    return out if base is None else base[out]


def minmax_indices(y: np.ndarray, n_buckets: int) -> np.ndarray:
    """Index of the min and max of each of ``n_buckets`` equal buckets, plus both ends."""
    n = y.size
    size = n // n_buckets
    body = n_buckets * size
    blocks = y[:body].reshape(n_buckets, size)
    offsets = np.arange(n_buckets) * size
    parts = [offsets + blocks.argmin(axis=1), offsets + blocks.argmax(axis=1), np.array([0, n - 1])]
    if body < n:
        tail = y[body:]
        parts.append(np.array([body + int(tail.argmin()), body + int(tail.argmax())]))
    return np.unique(np.concatenate(parts))


def _lttb(x: np.ndarray, y: np.ndarray, n_out: int) -> np.ndarray:
    """Classic LTTB over already-finite points; returns indices into ``x``/``y``."""
    n = x.size
    if n <= n_out:
        return np.arange(n)
    edges = np.linspace(1, n - 1, n_out - 1).astype(np.int64)  # n_out - 2 inner buckets
    # Mean of every bucket, used as the third triangle corner of the bucket before it.
    sums_x = np.add.reduceat(x[1 : n - 1], edges[:-1] - 1)
    sums_y = np.add.reduceat(y[1 : n - 1], edges[:-1] - 1)
    counts = np.diff(edges)
    mean_x = np.append(sums_x / counts, x[-1])
    mean_y = np.append(sums_y / counts, y[-1])
    out = np.empty(n_out, dtype=np.int64)
    out[0], out[-1] = 0, n - 1
    a = 0
    for b in range(n_out - 2):
        lo, hi = edges[b], edges[b + 1]
        cx, cy = mean_x[b + 1], mean_y[b + 1]
        ax, ay = x[a], y[a]
        area = np.abs((ax - cx) * (y[lo:hi] - ay) - (ax - x[lo:hi]) * (cy - ay))
        a = lo + int(area.argmax())
        out[b + 1] = a
    return out
