"""Compare runs: params/metrics/tags side by side, overlay, parallel coordinates, scatter, code diff."""

from __future__ import annotations

from typing import Any

import traitlets as t

from nbtrack.errors import NbtrackError
from nbtrack.query.compare import code_diff
from nbtrack.query.comparecharts import compare_charts
from nbtrack.query.runs import run_summary
from nbtrack.widgets.charts import VegaWidget
from nbtrack.widgets.source import StoreSource, resolve_run_ids

TABS = ("table", "overlay", "parallel", "scatter", "code")


def comparison_rows(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``{"section", "key", "values", "same"}`` for every param, latest metric and tag of the
    runs (:func:`~nbtrack.query.runs.run_summary` records, so numbers are JSON-safe already)."""
    rows = []
    for section, field in (
        ("run", None),
        ("params", "params"),
        ("metrics", "metrics"),
        ("tags", "tags"),
    ):
        if field is None:
            for key in ("experiment", "status"):
                values = [r.get(key) for r in runs]
                rows.append(
                    {
                        "section": section,
                        "key": key,
                        "values": values,
                        "same": len(set(values)) == 1,
                    }
                )
            continue
        keys = sorted({k for r in runs for k in r[field]})
        for key in keys:
            values = [r[field].get(key) for r in runs]
            rows.append(
                {
                    "section": section,
                    "key": key,
                    "values": values,
                    "same": len({repr(v) for v in values}) == 1,
                }
            )
    return rows


class CompareWidget(VegaWidget):
    """See :func:`compare`."""

    runs: t.List[Any] = t.List().tag(sync=True)
    rows: t.List[Any] = t.List().tag(sync=True)
    hide_identical = t.Bool(True).tag(sync=True)
    tab = t.Unicode("table").tag(sync=True)
    metric = t.Unicode("").tag(sync=True)
    metric_options: t.List[Any] = t.List().tag(sync=True)
    field_options: t.List[Any] = t.List().tag(sync=True)
    scatter_x = t.Unicode("").tag(sync=True)
    scatter_y = t.Unicode("").tag(sync=True)
    overlay_spec = t.Dict().tag(sync=True)
    parallel_spec = t.Dict().tag(sync=True)
    scatter_spec = t.Dict().tag(sync=True)
    chart_message = t.Unicode("").tag(sync=True)  # a bad choice of metric or field
    chart_messages = t.Dict().tag(sync=True)  # why a chart is empty, by chart
    diff_a = t.Int(0).tag(sync=True)
    diff_b = t.Int(1).tag(sync=True)
    diff: t.List[Any] = t.List().tag(sync=True)
    diff_scope = t.Unicode("run").tag(sync=True)  # run: the runs' bodies | all: whole histories

    def __init__(self, store: Any, run_ids: list[str], problem: str = "", **kw: Any):
        super().__init__(_kind="compare", **kw)
        self._store = store
        self._rows: list[dict[str, Any]] = []  # the store's rows, for the cell sequences
        self._summaries: list[dict[str, Any]] = []
        if store is None:
            self.status, self.message = "no-store", problem
            return
        if not run_ids:
            self.status, self.message = (
                "empty",
                problem or "No runs to compare: pass two or more run ids.",
            )
            return
        self._rows = store.run_summaries(run_ids)
        self._summaries = [run_summary(r) for r in self._rows]
        runs = self._summaries
        self.runs = [
            {"id": r["id"], "name": r["name"], "status": r["status"], "experiment": r["experiment"]}
            for r in runs
        ]
        self.rows = comparison_rows(runs)
        charts = compare_charts(store, runs)
        options = charts["options"]
        self.metric_options = options["metrics"]
        self.field_options = options["fields"]
        self.metric, self.scatter_x, self.scatter_y = (
            options["metric"],
            options["x"],
            options["y"],
        )
        self._show(charts)
        self.diff_b = 1 if len(runs) > 1 else 0
        self._update_diff()
        self.status = "ready"
        self.observe(self._update_charts, names=["metric", "scatter_x", "scatter_y"])
        self.observe(self._update_diff, names=["diff_a", "diff_b", "diff_scope"])

    @property
    def run_ids(self) -> list[str]:
        return [r["id"] for r in self.runs]

    def _update_charts(self, change: Any = None) -> None:
        """The three charts from :func:`nbtrack.query.comparecharts.compare_charts`, the same
        specs the sidebar's Compare draws."""
        try:
            charts = compare_charts(
                self._store,
                self._summaries,
                metric=self.metric or None,
                x=self.scatter_x or None,
                y=self.scatter_y or None,
            )
        except NbtrackError as exc:
            self.chart_message = str(exc)
            return
        self._show(charts)

    def _show(self, charts: dict[str, Any]) -> None:
        self.overlay_spec = charts["overlay"]
        self.parallel_spec = charts["parallel"]
        self.scatter_spec = charts["scatter"]
        self.chart_messages = charts["messages"]
        self.chart_message = ""

    def _update_diff(self, change: Any = None) -> None:
        rows = self._rows
        if not rows:
            return
        a = rows[min(max(self.diff_a, 0), len(rows) - 1)]
        b = rows[min(max(self.diff_b, 0), len(rows) - 1)]
        self.diff = code_diff(self._store, a, b, history=self.diff_scope == "all")


def compare(run_ids: Any, store: Any = None) -> CompareWidget:
    """Compare runs (ids or prefixes, a runs table's selection, or a DataFrame of runs)."""
    src = StoreSource(store)
    st = src.get()
    if st is None:
        return CompareWidget(None, [], src.problem)
    return CompareWidget(st, resolve_run_ids(st, run_ids))
