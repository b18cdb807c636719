"""One small handler per endpoint of ``/nbtrack/api/``. The reads are the query layer's read
model (:mod:`nbtrack.query.runs`, :mod:`nbtrack.query.series`), the edits :mod:`nbtrack.lifecycle.edits`."""

from __future__ import annotations

import mimetypes
import posixpath
import re
import time
from typing import TYPE_CHECKING, Any

import tornado.web

from nbtrack.errors import NotFoundError
from nbtrack.lifecycle import edits
from nbtrack.query.compare import compare_runs
from nbtrack.query.experiments import experiment_counts
from nbtrack.query.runs import load_run, page_of_runs, read_run, run_summary
from nbtrack.query.runtree import nest
from nbtrack.query.series import metric_series
from nbtrack.server.base import NbtrackHandler, NoStore

if TYPE_CHECKING:
    from nbtrack.store import Store

RUN_ID = r"(?P<run_id>[0-9a-fA-F]{1,32})"
MAX_COMPARED = 20
SAFE_TYPES = {
    "image/png",
    "image/jpeg",
    "image/gif",
    "text/plain",
    "text/csv",
    "application/json",
    "application/pdf",
}
KILLED_CHECK_SECONDS = 5.0
_last_killed_check: dict[str, float] = {}


def detect_killed_now_and_then(store: Store) -> None:
    """``store.detect_killed()`` at most every few seconds: the sidebar polls, processes die rarely."""
    now = time.monotonic()
    if now - _last_killed_check.get(store.url, -1e9) >= KILLED_CHECK_SECONDS:
        _last_killed_check[store.url] = now
        store.detect_killed()


class RunsHandler(NbtrackHandler):
    """``GET /runs?filter=&experiment=&order_by=&max_results=&page_token=&include_deleted=&nest=``

    ``nest=1`` (the sidebar) lists every run of the page right after its parent, with its
    ``depth``, as ``nbtrack runs`` does (:func:`nbtrack.query.runtree.nest`)."""

    @tornado.web.authenticated
    async def get(self) -> None:
        url = self.store_url()
        args: dict[str, Any] = {
            "filter_string": self.get_query_argument("filter", "").strip(),
            "experiments": [e for e in self.get_query_arguments("experiment") if e] or None,
            "order_by": [o for o in self.get_query_arguments("order_by") if o] or None,
            "max_results": self.int_argument(
                "max_results", 100, 1, self.nbtrack_config.max_page_size
            ),
            "page_token": self.get_query_argument("page_token", None) or None,
            "include_deleted": self.get_query_argument("include_deleted", "") in ("1", "true"),
        }
        nested = self.get_query_argument("nest", "") in ("1", "true")

        def work() -> dict[str, Any]:
            try:
                store = self.open_store(url)
            except NoStore:
                return {"runs": [], "next_page_token": None}
            detect_killed_now_and_then(store)
            page = page_of_runs(store, **args)
            if nested:
                page["runs"] = [{**r, "depth": d} for d, r in nest(page["runs"])]
            return page

        page = await self.blocking(work)
        self.send({**page, "store": url}, sanitized=True)


class RunHandler(NbtrackHandler):
    """``GET`` one run in full; ``PATCH {"name"?, "notes"?}``; ``DELETE`` (soft, restorable)."""

    @tornado.web.authenticated
    async def get(self, run_id: str) -> None:
        url = self.store_url()

        def work() -> dict[str, Any]:
            store = self.open_store(url)
            detect_killed_now_and_then(store)
            return read_run(store, store.resolve_run_id(run_id))

        self.send(await self.blocking(work), sanitized=True)

    @tornado.web.authenticated
    async def patch(self, run_id: str) -> None:
        url, body = self.store_url(), self.json_body()
        unknown = set(body) - {"name", "notes"}
        if unknown or not body:
            raise tornado.web.HTTPError(400, f"PATCH takes name and/or notes, got {sorted(body)}")

        def work() -> dict[str, Any]:
            store = self.open_store(url)
            rid = store.resolve_run_id(run_id)
            if "name" in body:
                edits.rename_run(rid, body["name"], store=store)
            if "notes" in body:
                edits.set_run_notes(rid, body["notes"], store=store)
            return run_summary(load_run(store, rid))

        self.send(await self.blocking(work), sanitized=True)

    @tornado.web.authenticated
    async def delete(self, run_id: str) -> None:
        """Deletes the run and the runs nested under it; answers ``{"id", "ids", "deleted"}``
        (``ids``: all of them). ``?dry_run=1`` only names them, for a confirmation."""
        url = self.store_url()
        dry_run = self.get_query_argument("dry_run", "") in ("1", "true")

        def work() -> list[str]:
            store = self.open_store(url)
            ids = edits.runs_deleted_with(run_id, store=store)
            if not dry_run:
                edits.delete_runs(ids, store=store)
            return ids

        ids = await self.blocking(work)
        self.send({"id": ids[0], "ids": ids, "deleted": not dry_run})


class RestoreHandler(NbtrackHandler):
    """``POST /runs/<id>/restore``: undo a delete."""

    @tornado.web.authenticated
    async def post(self, run_id: str) -> None:
        url = self.store_url()
        rid = await self.blocking(lambda: edits.restore_run(run_id, store=self.open_store(url)))
        self.send({"id": rid, "deleted": False})


class TagsHandler(NbtrackHandler):
    """``PUT /runs/<id>/tags {"tags": {k: v}}`` adds or replaces; ``DELETE ...?key=k`` removes."""

    @tornado.web.authenticated
    async def put(self, run_id: str) -> None:
        url, body = self.store_url(), self.json_body()

        def work() -> dict[str, Any]:
            store = self.open_store(url)
            rid = edits.set_run_tags(run_id, body.get("tags", {}), store=store)
            return {"id": rid, "tags": run_summary(load_run(store, rid))["tags"]}

        self.send(await self.blocking(work))

    @tornado.web.authenticated
    async def delete(self, run_id: str) -> None:
        url = self.store_url()
        key = self.get_query_argument("key", "")
        if not key:
            raise tornado.web.HTTPError(400, "DELETE tags needs ?key=<tag key>")

        def work() -> dict[str, Any]:
            store = self.open_store(url)
            rid = edits.delete_run_tag(run_id, key, store=store)
            return {"id": rid, "tags": run_summary(load_run(store, rid))["tags"]}

        self.send(await self.blocking(work))


class MetricHandler(NbtrackHandler):
    """``GET /runs/<id>/metrics?key=loss&max_points=500``: one metric's history, downsampled as the
    chart widgets downsample it when longer than ``max_points`` (:func:`nbtrack.query.series.metric_series`)."""

    @tornado.web.authenticated
    async def get(self, run_id: str) -> None:
        url = self.store_url()
        key = self.get_query_argument("key", "")
        if not key:
            raise tornado.web.HTTPError(400, "metrics needs ?key=<metric name>")
        max_points = self.int_argument("max_points", 0, 0, 1_000_000) or None
        if max_points is not None and max_points < 10:
            raise tornado.web.HTTPError(400, f"max_points must be at least 10, got {max_points}")
        series = await self.blocking(
            lambda: metric_series(self.open_store(url), run_id, key, max_points)
        )
        self.send(series, sanitized=True)


class ExperimentsHandler(NbtrackHandler):
    """``GET /experiments``: names with run counts."""

    @tornado.web.authenticated
    async def get(self) -> None:
        url = self.store_url()

        def work() -> list[dict[str, Any]]:
            try:
                return experiment_counts(self.open_store(url))
            except NoStore:
                return []

        self.send({"experiments": await self.blocking(work), "store": url})


class CompareHandler(NbtrackHandler):
    """``GET /compare?runs=ID,ID,...&metric=&x=&y=``: params, metrics (min / max / last) and
    tags side by side.

    Every row comes back with ``same`` (the view hides identical rows behind a toggle), except
    ``system/*`` metrics; ``code`` holds the cell-level diff of the first two runs' bodies and
    of their whole histories (``history``); ``charts`` the overlay of ``metric``, parallel
    coordinates and the ``x``/``y`` scatter, the compare widget's specs
    (:func:`nbtrack.query.comparecharts.compare_charts`).
    """

    @tornado.web.authenticated
    async def get(self) -> None:
        url = self.store_url()
        refs = [
            r.strip()
            for arg in self.get_query_arguments("runs")
            for r in arg.split(",")
            if r.strip()
        ]
        bad = [r for r in refs if not re.fullmatch(r"[0-9a-fA-F]{1,32}", r)]
        if bad:
            raise tornado.web.HTTPError(
                400, f"not a run id: {bad[0][:40]!r} (run ids are hexadecimal)"
            )
        if not 2 <= len(refs) <= MAX_COMPARED:
            raise tornado.web.HTTPError(
                400, f"compare takes 2 to {MAX_COMPARED} runs (?runs=ID,ID), got {len(refs)}"
            )

        charts = {k: self.get_query_argument(k, None) or None for k in ("metric", "x", "y")}

        def work() -> dict[str, Any]:
            data = compare_runs(
                refs,
                all_rows=True,
                store=self.open_store(url),
                code_diffs=1,
                history=True,
                charts=charts,
            )
            data["metrics"] = [m for m in data["metrics"] if not m["key"].startswith("system/")]
            return data

        self.send(await self.blocking(work))


class RecordedNotebookHandler(NbtrackHandler):
    """``GET /runs/<id>/notebook-as-recorded``: the notebook as it was when the run was recorded,
    as nbformat JSON, the run's cells marked (:func:`nbtrack.reproduce.notebook.recorded_notebook`).
    Only read: the sidebar shows it read-only and nothing is written anywhere."""

    @tornado.web.authenticated
    async def get(self, run_id: str) -> None:
        url = self.store_url()

        def work() -> Any:
            from nbtrack.reproduce.notebook import recorded_notebook  # brings nbformat

            store = self.open_store(url)
            return recorded_notebook(store, store.resolve_run_id(run_id))

        self.send(await self.blocking(work))


class ArtifactHandler(NbtrackHandler):
    """``GET /runs/<id>/artifact?path=model/weights.bin``: download one recorded artifact.

    The path is looked up among the run's recorded artifacts; it never names a file on disk,
    so no request can read outside the store.
    """

    @tornado.web.authenticated
    async def get(self, run_id: str) -> None:
        url = self.store_url()
        path = self.get_query_argument("path", "")
        norm = posixpath.normpath(path.replace("\\", "/")) if path else ""
        if (
            not path
            or "\0" in path
            or norm.startswith(("/", "../"))
            or norm == ".."
            or "/../" in f"/{path}/"
        ):
            raise tornado.web.HTTPError(
                400, f"artifact path {path[:200]!r} must be relative, without '..'"
            )

        def work() -> bytes:
            store = self.open_store(url)
            rid = store.resolve_run_id(run_id)
            match = [a for a in store.artifacts_of(rid) if a["path"] == path]
            if not match:
                raise NotFoundError(f"run {rid} has no artifact {path[:200]!r}")
            return store.get_blob(match[0]["blob_hash"])

        data = await self.blocking(work)
        name = posixpath.basename(path)
        kind = mimetypes.guess_type(name)[0] or ""
        # Served from Jupyter's origin: anything a browser could run is sent as opaque bytes.
        kind = kind if kind in SAFE_TYPES else "application/octet-stream"
        self.set_header("Content-Security-Policy", "sandbox")
        self.set_header(
            "Content-Disposition",
            f"attachment; filename*=UTF-8''{tornado.escape.url_escape(name, plus=False)}",
        )
        self.set_header("X-Content-Type-Options", "nosniff")
        self.finish(data, set_content_type=kind)
