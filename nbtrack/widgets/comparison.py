"""Compare runs: params/metrics/tags side by side, overlay, parallel coordinates, scatter, code diff."""

from __future__ import annotations

from typing import Any

import traitlets as t

from nbtrack.errors import NbtrackError
from nbtrack.query.codediff import diff_cells
from nbtrack.query.runs import run_summary
from nbtrack.query.series import load_series
from nbtrack.widgets.charts import VegaWidget, build_chart
from nbtrack.widgets.source import StoreSource, resolve_run_ids
from nbtrack.widgets.specs import parallel_coordinates, scatter

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
    chart_message = t.Unicode("").tag(sync=True)
    diff_a = t.Int(0).tag(sync=True)
    diff_b = t.Int(1).tag(sync=True)
    diff: t.List[Any] = t.List().tag(sync=True)
    diff_scope = t.Unicode("run").tag(sync=True)  # run: the runs' own cells | all: whole sequences

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
        metrics = sorted({k for r in runs for k in r["metrics"] if not k.startswith("system/")})
        params = sorted({k for r in runs for k in r["params"]})
        self.metric_options = metrics
        self.field_options = [f"params.{p}" for p in params] + [f"metrics.{m}" for m in metrics]
        self.metric = metrics[0] if metrics else ""
        numeric_params = [f"params.{p}" for p in params if _numeric(runs, "params", p)]
        self.scatter_x = (numeric_params or self.field_options or [""])[0]
        self.scatter_y = (
            f"metrics.{self.metric}" if self.metric else (self.field_options or [""])[-1]
        )
        self.diff_b = 1 if len(runs) > 1 else 0
        self._update_charts()
        self._update_diff()
        self.status = "ready"
        self.observe(self._update_charts, names=["metric", "scatter_x", "scatter_y"])
        self.observe(self._update_diff, names=["diff_a", "diff_b", "diff_scope"])

    @property
    def run_ids(self) -> list[str]:
        return [r["id"] for r in self.runs]

    def _update_charts(self, change: Any = None) -> None:
        runs, msg = self._summaries, []
        try:
            if self.metric:
                data = load_series(self._store, [r["id"] for r in runs], [self.metric])
                self.overlay_spec = build_chart(data, "step", 0.0, False)
            else:
                self.overlay_spec, msg = {}, ["These runs have no metrics."]
            axes = [f"params.{p}" for p in sorted({k for r in runs for k in r["params"]})]
            axes = [a for a in axes if len({str(r["params"].get(a[7:])) for r in runs}) > 1] or axes
            colour = f"metrics.{self.metric}" if self.metric else None
            if colour:
                axes = axes + [colour]
            self.parallel_spec = parallel_coordinates(runs, axes, colour) if axes else {}
            if self.scatter_x and self.scatter_y:
                self.scatter_spec = scatter(runs, self.scatter_x, self.scatter_y)
            else:
                self.scatter_spec = {}
        except NbtrackError as exc:
            msg.append(str(exc))
        self.chart_message = " ".join(msg)

    def _update_diff(self, change: Any = None) -> None:
        rows = self._rows
        if not rows:
            return
        a = rows[min(max(self.diff_a, 0), len(rows) - 1)]
        b = rows[min(max(self.diff_b, 0), len(rows) - 1)]
        old, new = self._store.run_cells(a), self._store.run_cells(b)
        if self.diff_scope == "run":
            old, new = [c for c in old if c["in_run"]], [c for c in new if c["in_run"]]
        self.diff = diff_cells(old, new)


def _numeric(runs: list[dict[str, Any]], field: str, key: str) -> bool:
    try:
        [float(r[field][key]) for r in runs if key in r[field]]
    except (TypeError, ValueError):
        return False
    return True


def compare(run_ids: Any, store: Any = None) -> CompareWidget:
    """Compare runs (ids or prefixes, a runs table's selection, or a DataFrame of runs)."""
    src = StoreSource(store)
    st = src.get()
    if st is None:
        return CompareWidget(None, [], src.problem)
    return CompareWidget(st, resolve_run_ids(st, run_ids))
