"""Metric curves of runs: ``chart()`` (a widget with smoothing/log/x controls) and ``chart_spec()``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anywidget
import traitlets as t

from nbtrack.errors import NbtrackError
from nbtrack.query.downsample import DEFAULT_POINTS
from nbtrack.query.series import SeriesSet, load_series
from nbtrack.widgets.series import check_axis, check_smoothing, records
from nbtrack.widgets.source import StoreSource, resolve_run_ids
from nbtrack.widgets.specs import line_chart, to_altair

_STATIC = Path(__file__).parent / "static"


def _metric_list(metrics: str | list[str] | None) -> list[str] | None:
    if metrics is None:
        return None
    return [metrics] if isinstance(metrics, str) else list(metrics)


def build_chart(
    data: SeriesSet,
    x: str,
    smoothing: float,
    log_scale: bool,
    max_points: int = DEFAULT_POINTS,
) -> dict[str, Any]:
    """The vega-lite spec of the metric chart of ``data``."""
    rows, notes = records(
        data, x=x, smoothing=smoothing, log_scale=log_scale, max_points=max_points
    )
    metrics = sorted({s.metric for s in data.series})
    return line_chart(rows, metrics, x=x, smoothing=smoothing, log_scale=log_scale, notes=notes)


def chart_spec(
    runs: Any,
    metrics: str | list[str] | None = None,
    x: str = "step",
    smoothing: float = 0.0,
    log_scale: bool = False,
    store: Any = None,
    max_points: int = DEFAULT_POINTS,
) -> Any:
    """The metric chart as a plain ``altair`` chart (for reports, ``.save()``, other renderers).

    ``runs``: run ids or prefixes, a runs table (its selection) or a DataFrame of runs;
    ``metrics``: one name or a list (default: every non-``system/`` metric of the runs).
    """
    src = StoreSource(store)
    st = src.get()
    if st is None:
        raise NbtrackError(src.problem)
    data = load_series(st, resolve_run_ids(st, runs), _metric_list(metrics))
    return to_altair(
        build_chart(data, check_axis(x), check_smoothing(smoothing), log_scale, max_points)
    )


class VegaWidget(anywidget.AnyWidget):
    """Base of the chart-bearing widgets: one ES module (views.js) carrying vega-embed."""

    _esm = _STATIC / "views.js"
    _css = _STATIC / "widgets.css"
    _kind = t.Unicode("").tag(sync=True)
    status = t.Unicode("loading").tag(sync=True)  # loading | ready | empty | no-store | error
    message = t.Unicode("").tag(sync=True)


class ChartWidget(VegaWidget):
    """Metric curves with smoothing, log scale and x-axis controls that redraw from the kernel."""

    spec = t.Dict().tag(sync=True)
    smoothing = t.Float(0.0).tag(sync=True)
    log_scale = t.Bool(False).tag(sync=True)
    x = t.Unicode("step").tag(sync=True)

    def __init__(
        self, data: SeriesSet | None, problem: str = "", max_points: int = DEFAULT_POINTS, **kw: Any
    ):
        super().__init__(_kind="chart", **kw)
        self._data = data
        self._max_points = max_points
        if data is None:
            self.status, self.message = "no-store", problem
        elif not data.series:
            self.status, self.message = (
                "empty",
                problem or "These runs have no points of these metrics yet.",
            )
        else:
            self._redraw()
        self.observe(self._redraw, names=["smoothing", "log_scale", "x"])

    def to_altair(self) -> Any:
        """The chart currently shown, as an Altair chart."""
        if not self._data or not self._data.series:
            raise NbtrackError(self.message or "nothing to chart")
        return to_altair(self.spec)

    def _redraw(self, change: Any = None) -> None:
        if not self._data or not self._data.series:
            return
        try:
            spec = build_chart(
                self._data,
                check_axis(self.x),
                check_smoothing(self.smoothing),
                self.log_scale,
                self._max_points,
            )
        except NbtrackError as exc:
            self.status, self.message = "error", str(exc)
            return
        with self.hold_trait_notifications():
            self.spec = spec
            self.status, self.message = "ready", ""


def chart(
    runs: Any,
    metrics: str | list[str] | None = None,
    x: str = "step",
    smoothing: float = 0.0,
    log_scale: bool = False,
    store: Any = None,
    max_points: int = DEFAULT_POINTS,
) -> ChartWidget:
    """Metric curves of ``runs``, one line per run, as a widget (see :func:`chart_spec`)."""
    check_axis(x)
    check_smoothing(smoothing)
    src = StoreSource(store)
    st = src.get()
    if st is None:
        return ChartWidget(None, src.problem, x=x, smoothing=smoothing, log_scale=log_scale)
    ids = resolve_run_ids(st, runs)
    data = load_series(st, ids, _metric_list(metrics))
    problem = (
        ""
        if ids
        else "No runs given: pass run ids, a runs table with a selection, or a DataFrame of runs."
    )
    return ChartWidget(data, problem, max_points, x=x, smoothing=smoothing, log_scale=log_scale)
