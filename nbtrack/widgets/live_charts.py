"""Live metric charts: ``live()`` shows a chart that follows metrics while a cell still runs.

The tracking layer calls :func:`nbtrack.widgets.feed.on_point` for each logged point (the first
live chart subscribes it with ``add_metric_listener``); a live chart buffers the points and
pushes them to the front end at most ``1 / interval`` times a second, as increments, with a full
snapshot every few seconds so a view that missed a message, or opened late, catches up. Both
are thinned by the one downsampler, :func:`nbtrack.query.downsample.downsample_indices`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import traitlets as t

from nbtrack.query.downsample import downsample_indices
from nbtrack.widgets import feed
from nbtrack.widgets.charts import VegaWidget
from nbtrack.widgets.specs import live_chart

SNAPSHOT_EVERY = 3.0  # seconds between full snapshots
MAX_POINTS = 1000  # per series in a snapshot
MAX_INCREMENT = 2000  # more new rows than this in one flush: send a snapshot instead
SMALL_HISTORY = 2000  # up to this many points in all, every push is a full snapshot


class _History:
    __slots__ = ("steps", "values")

    def __init__(self) -> None:
        self.steps: list[float] = []
        self.values: list[float] = []


class LiveChart(VegaWidget):
    """A chart fed by the tracking layer; see :func:`live`."""

    spec = t.Dict().tag(sync=True)

    def __init__(
        self,
        run: str | None = None,
        metrics: Sequence[str] | None = None,
        log_scale: bool = False,
        interval: float = 0.3,
        **kw: Any,
    ):
        super().__init__(_kind="live", **kw)
        self.interval = interval  # seconds between pushes (a plain attribute: read per point)
        self._run = run
        self._ignored: set[str] = set()
        self._metrics = set(metrics) if metrics else None
        self._history: dict[tuple[str, str], _History] = {}
        self._order: dict[tuple[str, str], int] = {}  # series -> when it first arrived
        self._pending: list[tuple[str, str, float, float]] = []
        self._runs: list[str] = []
        self._seq = 0
        self._count = 0
        self._last_flush = 0.0
        self._last_snapshot = 0.0
        self._cell = _execution_count()
        self._shown_in: int | None = None
        self.spec = live_chart(log_scale=log_scale)
        self.status, self.message = (
            "ready",
            "Waiting for metrics… (log them with nbtrack.log_metric)",
        )
        self.on_msg(self._on_msg)
        _retire_older(self._cell)
        feed.sinks.append(self)
        _register_listener()
        _register_post_execute()

    # -- fed by the tracking layer ---------------------------------------------------------
    def ingest_point(
        self, run_id: str, key: str, value: float, step: int, timestamp: float
    ) -> None:
        h = self._history.get((run_id, key))
        if h is None:
            if not self._wants(run_id, key):
                return
            if run_id not in self._runs:
                self._runs.append(run_id)
            h = self._history[(run_id, key)] = _History()
            self._order[(run_id, key)] = len(self._order)  # its colour, kept for good
        v = float(value)
        self._count += 1
        h.steps.append(step)
        h.values.append(v)
        if v - v == 0.0:  # finite
            self._pending.append((run_id, key, step, v))
        now = time.monotonic()
        if now - self._last_flush >= self.interval and self._pending:
            self.flush(now)

    def _wants(self, run_id: str, key: str) -> bool:
        if self._run is not None and run_id != self._run:
            return False
        if key in self._ignored:
            return False
        if key.startswith("system/") or (self._metrics is not None and key not in self._metrics):
            self._ignored.add(key)
            return False
        return True

    def flush(self, now: float | None = None) -> None:
        """Push what is buffered now (called by the throttle and after each cell)."""
        now = time.monotonic() if now is None else now
        self._last_flush = now
        if not self._history:
            return
        if self.message:
            self.message = ""
        small = self._count <= SMALL_HISTORY  # a full snapshot is as cheap as an increment
        if small or now - self._last_snapshot >= SNAPSHOT_EVERY:
            self._send_snapshot(now)
        elif self._pending:
            self._seq += 1
            self.send({"type": "points", "seq": self._seq, "rows": self._increment_rows()})
        self._pending = []

    def _increment_rows(self) -> list[dict[str, Any]]:
        """The buffered points as rows, each series thinned to its share of MAX_INCREMENT."""
        by_series: dict[tuple[str, str], tuple[list[float], list[float]]] = {}
        for r, k, st, v in self._pending:
            xs_ys = by_series.setdefault((r, k), ([], []))
            xs_ys[0].append(st)
            xs_ys[1].append(v)
        share = max(MAX_INCREMENT // max(len(by_series), 1), 50)
        rows: list[dict[str, Any]] = []
        for (r, k), (xs, ys) in by_series.items():
            label, order = self._label(r, k), self._order[(r, k)]
            if len(xs) > share:  # the shape and the extremes of the new points
                idx = downsample_indices(
                    np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64), share
                ).tolist()
                xs, ys = [xs[i] for i in idx], [ys[i] for i in idx]
            rows += [
                {"series": label, "order": order, "step": st, "value": v}
                for st, v in zip(xs, ys, strict=True)
            ]
        return rows

    def close(self) -> None:
        detach(self)
        super().close()

    def _ipython_display_(self) -> None:
        # live() has shown the chart already; do not show it twice when it is also the
        # value of the cell's last line.
        if self._shown_in is not None and self._shown_in == _execution_count():
            self._shown_in = None
            return
        from IPython.display import display

        bundle = self._repr_mimebundle_()
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle, None)
        display(data, metadata=metadata, raw=True)

    # -- internals -------------------------------------------------------------------------
    def _label(self, run_id: str, key: str) -> str:
        return key if len(self._runs) == 1 else f"{key} · {run_id[:7]}"

    def snapshot_rows(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for (run_id, key), h in self._history.items():
            steps = np.asarray(h.steps, dtype=np.float64)
            values = np.asarray(h.values, dtype=np.float64)
            idx = downsample_indices(steps, values, MAX_POINTS)
            label, order = self._label(run_id, key), self._order[(run_id, key)]
            rows += [
                {"series": label, "order": order, "step": s, "value": v}
                for s, v in zip(steps[idx].tolist(), values[idx].tolist(), strict=True)
            ]
        return rows

    def _send_snapshot(self, now: float) -> None:
        self._last_snapshot = now
        self._seq += 1
        self._pending = []
        self.send({"type": "reset", "seq": self._seq, "rows": self.snapshot_rows()})

    def _on_msg(self, _w: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "snapshot" and self._history:
            self._send_snapshot(time.monotonic())


def detach(chart: LiveChart) -> None:
    if chart in feed.sinks:
        feed.sinks.remove(chart)


def _retire_older(cell: int | None) -> None:
    """Live charts of earlier cells stop listening (charts made in one cell coexist)."""
    for sink in list(feed.sinks):
        if isinstance(sink, LiveChart) and sink._cell != cell:
            sink.flush()
            detach(sink)


def _execution_count() -> int | None:
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    ip = get_ipython()
    return getattr(ip, "execution_count", None) if ip is not None else None


def _flush_all(*_args: Any) -> None:
    for sink in list(feed.sinks):
        if isinstance(sink, LiveChart) and sink._pending:
            sink.flush()


_post_execute_registered = False


def _register_post_execute() -> None:
    """Push the last points of a cell when it ends, whatever the throttle says."""
    global _post_execute_registered
    if _post_execute_registered:
        return
    try:
        from IPython import get_ipython
    except ImportError:
        return
    ip = get_ipython()
    if ip is not None:
        ip.events.register("post_execute", _flush_all)
        _post_execute_registered = True


def _register_listener() -> None:
    """Subscribe the feed to the tracking layer, once (the tracker never imports widgets)."""
    from nbtrack.recording import listeners

    listeners.remove_metric_listener(feed.on_point)
    listeners.add_metric_listener(feed.on_point)


def live(
    run: Any = None,
    metrics: str | Sequence[str] | None = None,
    log_scale: bool = False,
    display: bool = True,
) -> LiveChart:
    """A chart of the metrics logged from now on, updated while the cell runs (at most
    every 0.3 s), shown at once in the cell's output: call it before the training loop.

    ``run``: a run id or ``Run`` to follow (default: every run); ``metrics``: names to show
    (default: all but ``system/...``).
    """
    run_id = getattr(run, "id", run)
    names = [metrics] if isinstance(metrics, str) else metrics
    chart = LiveChart(run_id, names, log_scale=log_scale)
    if display:
        from IPython.display import display as show

        show(chart)
        chart._shown_in = chart._cell
    return chart
