"""Notebook widgets (anywidget + Altair/vega-lite, bundled front ends, no CDN).

Light to import: the widget modules (anywidget, altair) load on first use. Every widget reads
runs through the query layer's read model (:mod:`nbtrack.query.runs`, :mod:`nbtrack.query.series`);
the tracking layer feeds live charts through :func:`nbtrack.widgets.feed.on_point`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nbtrack.widgets.feed import on_point

if TYPE_CHECKING:
    from nbtrack.widgets.charts import ChartWidget
    from nbtrack.widgets.comparison import CompareWidget
    from nbtrack.widgets.live_charts import LiveChart
    from nbtrack.widgets.run_detail import RunView
    from nbtrack.widgets.table import RunsTable

__all__ = ["runs_table", "chart", "chart_spec", "live", "compare", "run_view", "on_point"]


def runs_table(
    filter_string: str | None = None, experiment: str | None = None, store: Any = None
) -> RunsTable:
    """Interactive table of runs; see :func:`nbtrack.widgets.table.runs_table`."""
    from nbtrack.widgets.table import runs_table as impl

    return impl(filter_string, experiment, store)


def chart(runs: Any, metrics: Any = None, x: str = "step", **kw: Any) -> ChartWidget:
    """Metric curves of runs as a widget; see :func:`nbtrack.widgets.charts.chart`."""
    from nbtrack.widgets.charts import chart as impl

    return impl(runs, metrics, x, **kw)


def chart_spec(runs: Any, metrics: Any = None, x: str = "step", **kw: Any) -> Any:
    """Metric curves of runs as a plain ``altair`` chart; see :func:`nbtrack.widgets.charts.chart_spec`."""
    from nbtrack.widgets.charts import chart_spec as impl

    return impl(runs, metrics, x, **kw)


def live(
    run: Any = None, metrics: Any = None, log_scale: bool = False, display: bool = True
) -> LiveChart:
    """A chart that follows metrics while the cell runs; see :func:`nbtrack.widgets.live_charts.live`."""
    from nbtrack.widgets.live_charts import live as impl

    return impl(run, metrics, log_scale=log_scale, display=display)


def compare(run_ids: Any, store: Any = None) -> CompareWidget:
    """Compare runs side by side; see :func:`nbtrack.widgets.comparison.compare`."""
    from nbtrack.widgets.comparison import compare as impl

    return impl(run_ids, store)


def run_view(run_id: str, store: Any = None) -> RunView:
    """One run in full; see :func:`nbtrack.widgets.run_detail.run_view`."""
    from nbtrack.widgets.run_detail import run_view as impl

    return impl(run_id, store)
