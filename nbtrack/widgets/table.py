"""The runs table widget: query box, sortable and filterable columns, paging from the kernel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anywidget
import traitlets as t

from nbtrack.errors import NbtrackError
from nbtrack.query.table import count_of, ids_of, live_runs_plan, top_runs_plan
from nbtrack.widgets.source import StoreSource
from nbtrack.widgets.table_data import (
    Column,
    column_clause,
    compose_filter,
    default_visible,
    discover_columns,
    order_item,
    page_rows,
    with_system,
)

_STATIC = Path(__file__).parent / "static"
MAX_PAGE = 500


class RunsTable(anywidget.AnyWidget):
    """Runs of a store as a table; ``table.selected`` holds the ids of the selected rows.

    The front end asks for the rows it shows with ``{"type": "page", "offset", "limit", "gen"}``
    custom messages; ``gen`` changes whenever the result changes, so stale pages are dropped.
    """

    _esm = _STATIC / "table.js"
    _css = _STATIC / "widgets.css"

    status = t.Unicode("loading").tag(sync=True)  # loading | ready | empty | no-store | error
    message = t.Unicode("").tag(sync=True)
    filter_string = t.Unicode("").tag(sync=True)
    column_filters = t.Dict().tag(sync=True)  # column id -> text typed in its filter box
    error = t.Unicode("").tag(sync=True)
    columns: t.List[Any] = t.List().tag(sync=True)
    visible: t.List[Any] = t.List().tag(sync=True)
    order_by = t.Unicode("start_time").tag(sync=True)
    descending = t.Bool(True).tag(sync=True)
    total = t.Int(0).tag(sync=True)
    gen = t.Int(0).tag(sync=True)
    selected: t.List[Any] = t.List().tag(sync=True)
    page_size = t.Int(100).tag(sync=True)
    store_label = t.Unicode("").tag(sync=True)
    show_system = t.Bool(False).tag(sync=True)  # the system/... metric columns (hidden at first)
    show_nested = t.Bool(False).tag(sync=True)  # runs nested under another (a sweep's, a replay's)
    nested = t.Int(0).tag(sync=True)  # how many of those the query finds besides the top level

    def __init__(
        self, source: StoreSource, filter_string: str = "", experiment: str | None = None, **kw: Any
    ):
        super().__init__(**kw)
        self._source = source
        self._experiment = experiment
        self._query: Any = None
        self._ids: list[str] | None = None  # every id of the result, read only when asked for
        self._all_columns: dict[str, Column] = {}
        self.store_label = source.label
        self.on_msg(self._on_msg)
        with self.hold_trait_notifications():
            self.filter_string = filter_string or ""
        self.refresh()
        self.observe(self._toggle_system, names=["show_system"])
        self.observe(
            self._requery,
            names=[
                "filter_string",
                "column_filters",
                "order_by",
                "descending",
                "visible",
                "show_nested",
            ],
        )

    # -- Python API ------------------------------------------------------------------------
    @property
    def run_ids(self) -> list[str]:
        """Ids of every run of the current result, in table order."""
        store = self._source.get()
        if store is None or self._query is None:
            return []
        if self._ids is None:
            self._ids = ids_of(store, self._query)
        return list(self._ids)

    def refresh(self) -> None:
        """Re-read the store (columns and rows), keeping the query, order and selection."""
        store = self._source.get()
        if store is None:
            self.status, self.message, self.total = "no-store", self._source.problem, 0
            self.gen += 1
            return
        cols = discover_columns(store, self._experiment)
        self._all_columns = {c.id: c for c in cols}
        self.columns = [c.as_dict() for c in cols]
        if not self.visible or any(v not in self._all_columns for v in self.visible):
            kept = [v for v in self.visible if v in self._all_columns]
            self.visible = kept or default_visible(cols, self.show_system)
        self._requery()

    def page(self, offset: int, limit: int) -> list[dict[str, Any]]:
        """Rows ``offset .. offset+limit`` of the result with the visible columns."""
        store = self._source.get()
        if store is None:
            return []
        limit = max(0, min(limit, MAX_PAGE))
        cols = [self._all_columns[v] for v in self.visible if v in self._all_columns]
        if self._query is None or limit == 0:
            return []
        ids = (
            self._ids[offset : offset + limit]
            if self._ids is not None
            else ids_of(store, self._query, offset, limit)
        )
        return page_rows(store, ids, cols)

    # -- internals -------------------------------------------------------------------------
    def _toggle_system(self, change: Any = None) -> None:
        self.visible = with_system(self.visible, list(self._all_columns.values()), self.show_system)

    def _requery(self, change: Any = None) -> None:
        store = self._source.get()
        if store is None:
            return
        try:
            clauses = []
            for col_id, text in sorted(self.column_filters.items()):
                if text.strip() and col_id in self._all_columns:
                    clauses.append(column_clause(self._all_columns[col_id], text))
            query = compose_filter(self.filter_string, clauses)
            column = self._all_columns.get(self.order_by) or self._all_columns["start_time"]
            order = order_item(column, self.descending)
            # folded like the Runs view's: the runs a sweep or a replay nested under a listed
            # run are left out until asked for (show_nested), and counted
            top = top_runs_plan(store, query, self._experiment, order)
            every = live_runs_plan(query, self._experiment, order)
            n_top, n_all = count_of(store, top), count_of(store, every)
            result = every if self.show_nested else top
            total, nested = (n_all if self.show_nested else n_top), n_all - n_top
        except NbtrackError as exc:
            self.error = str(exc)
            return
        self._query, self._ids = result, None
        with self.hold_trait_notifications():
            self.error = ""
            self.total = total
            self.nested = nested
            self.status = "ready" if total else "empty"
            self.message = "" if total else self._empty_message(bool(query))
            self.gen += 1

    def _empty_message(self, filtered: bool) -> str:
        if filtered:
            return "No run matches this query."
        where = f" in experiment {self._experiment!r}" if self._experiment else ""
        return f"No runs{where} yet in {self.store_label}. Start one with %%track or nbtrack.start_run()."

    def _on_msg(self, _widget: Any, content: dict[str, Any], _buffers: list[bytes]) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        if kind == "page":
            gen = int(content.get("gen", -1))
            offset = max(0, int(content.get("offset", 0)))
            try:
                rows = (
                    self.page(offset, int(content.get("limit", self.page_size)))
                    if gen == self.gen
                    else []
                )
            except Exception as exc:  # a failed read shows in the table, never as a traceback
                self.send(
                    {
                        "type": "page-error",
                        "gen": gen,
                        "offset": offset,
                        "message": f"{type(exc).__name__}: {exc}",
                    }
                )
                return
            self.send(
                {
                    "type": "page",
                    "gen": gen,
                    "offset": offset,
                    "rows": rows,
                    "stale": gen != self.gen,
                }
            )
        elif kind == "refresh":
            self.refresh()
        elif kind == "select-all":
            self.selected = self.run_ids


def runs_table(
    filter_string: str | None = None,
    experiment: str | None = None,
    store: Any = None,
) -> RunsTable:
    """An interactive table of the runs in ``store`` (default: ``NBTRACK_STORE`` or ``./.nbtrack``).

    ``filter_string`` uses the project's filter language (``metrics.acc > 0.9 and params.lr = '0.01'``);
    ``experiment`` limits the table to one experiment. Selected run ids: ``table.selected``.
    """
    return RunsTable(StoreSource(store), filter_string or "", experiment)


__all__ = ["RunsTable", "runs_table"]
