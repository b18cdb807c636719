"""The endpoints of JupyterLab's Runs view (``/nbtrack/api/runs/table...``, ``/keys``,
``/runs/bulk``): reads from :mod:`nbtrack.query.runstable`, edits from :mod:`nbtrack.lifecycle.edits`."""

from __future__ import annotations

import re
from typing import Any

import tornado.web

from nbtrack.lifecycle import edits
from nbtrack.query.fields import ATTRIBUTES
from nbtrack.query.runstable import MAX_PAGE, best_values, key_names, runs_csv, table_page
from nbtrack.server.base import NbtrackHandler, NoStore

MAX_BULK = 100_000
_ID = re.compile(r"[0-9a-fA-F]{1,32}")


class _TableQuery(NbtrackHandler):
    def table_args(self) -> dict[str, Any]:
        """The search the view shows: ``filter``, ``experiment``, ``deleted``."""
        return {
            "filter_string": self.get_query_argument("filter", ""),
            "experiment": self.get_query_argument("experiment", "") or None,
            "deleted": self.get_query_argument("deleted", "") in ("1", "true"),
        }


class RunsTableHandler(_TableQuery):
    """``GET /runs/table?filter=&experiment=&order_by=&offset=&limit=&parent=&deleted=&count=``:
    ``{total, offset, runs}``, each run with its number of ``children`` (``count=0``: no total)."""

    @tornado.web.authenticated
    async def get(self) -> None:
        url = self.store_url()
        parent = self.get_query_argument("parent", "") or None
        if parent is not None and not _ID.fullmatch(parent):
            raise tornado.web.HTTPError(400, f"parent is not a run id: {parent[:40]!r}")
        args: dict[str, Any] = {
            **self.table_args(),
            "order_by": [o for o in self.get_query_arguments("order_by") if o] or None,
            "offset": self.int_argument("offset", 0, 0, 10**9),
            "limit": self.int_argument("limit", 100, 1, MAX_PAGE),
            "parent": parent,
            "count": self.get_query_argument("count", "1") != "0",
        }

        def work() -> dict[str, Any]:
            try:
                store = self.open_store(url)
            except NoStore:
                return {"total": 0, "offset": 0, "runs": []}
            return table_page(store, **args)

        self.send({**await self.blocking(work), "store": url}, sanitized=True)


class BestValuesHandler(_TableQuery):
    """``GET /runs/table/best?metric=acc&metric=loss&filter=...``: the best value of each."""

    @tornado.web.authenticated
    async def get(self) -> None:
        url, args = self.store_url(), self.table_args()
        keys = [k for k in self.get_query_arguments("metric") if k]

        def work() -> dict[str, Any]:
            try:
                return best_values(self.open_store(url), keys, **args)
            except NoStore:
                return {}

        self.send({"best": await self.blocking(work)}, sanitized=True)


class RunsCsvHandler(_TableQuery):
    """``POST /runs/table/csv {"columns", "ids"?, "order_by"?}`` with the view's search in the
    query string: the runs ``ids``, else every run the search finds, as ``text/csv``."""

    @tornado.web.authenticated
    async def post(self) -> None:
        url, args, body = self.store_url(), self.table_args(), self.json_body()
        columns, ids = body.get("columns"), body.get("ids")
        order_by = body.get("order_by") or None
        if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
            raise tornado.web.HTTPError(400, "columns must be a list of column names")
        if ids is not None and not (
            isinstance(ids, list) and all(isinstance(i, str) and _ID.fullmatch(i) for i in ids)
        ):
            raise tornado.web.HTTPError(400, "ids must be a list of run ids")

        def work() -> str:
            return runs_csv(self.open_store(url), columns, run_ids=ids, order_by=order_by, **args)

        text = await self.blocking(work)
        self.set_header("Content-Disposition", 'attachment; filename="nbtrack-runs.csv"')
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.finish(text, set_content_type="text/csv; charset=utf-8")  # APIHandler's JSON else


class KeysHandler(NbtrackHandler):
    """``GET /keys?experiment=``: the distinct ``params``, ``metrics`` and ``tags`` keys, the
    ``experiments``' names and the ``attributes`` a filter can name (the filter box completes them)."""

    @tornado.web.authenticated
    async def get(self) -> None:
        url = self.store_url()
        experiment = self.get_query_argument("experiment", "") or None

        def work() -> dict[str, list[str]]:
            try:
                return key_names(self.open_store(url), experiment)
            except NoStore:
                return {"params": [], "metrics": [], "tags": [], "experiments": []}

        self.send({**await self.blocking(work), "attributes": list(ATTRIBUTES)})


class BulkHandler(NbtrackHandler):
    """``POST /runs/bulk {"action": "delete" | "restore", "ids": [...]}``: soft-delete or
    restore many runs in one request; answers ``{"ids", "deleted"}``."""

    @tornado.web.authenticated
    async def post(self) -> None:
        url, body = self.store_url(), self.json_body()
        action, ids = body.get("action"), body.get("ids")
        if action not in ("delete", "restore"):
            raise tornado.web.HTTPError(400, f"action must be delete or restore, got {action!r}")
        if not (
            isinstance(ids, list)
            and 0 < len(ids) <= MAX_BULK
            and all(isinstance(i, str) and _ID.fullmatch(i) for i in ids)
        ):
            raise tornado.web.HTTPError(400, f"ids must be a list of 1 to {MAX_BULK} run ids")
        edit = edits.delete_runs if action == "delete" else edits.restore_runs

        def work() -> list[str]:
            return edit(ids, store=self.open_store(url))

        done = await self.blocking(work)
        self.send({"ids": done, "deleted": action == "delete"})
