"""Replay and export from the sidebar, through :mod:`nbtrack.reproduce.replay` and :mod:`nbtrack.reproduce.export`
(imported when first used: they bring nbclient and the kernel machinery)."""

from __future__ import annotations

import asyncio
import json
import os
import posixpath
from typing import Any

import tornado.web

from nbtrack.query.jsonsafe import jsonable
from nbtrack.server.base import NbtrackHandler

EXPORT_FORMATS = {
    "script": ("text/x-python", ".py"),
    "notebook": ("application/x-ipynb+json", ".ipynb"),
    "bundle": ("application/zip", ".zip"),
}


class ReplayHandler(NbtrackHandler):
    """``POST /runs/<id>/replay``: runs the replay and streams JSON lines of progress, then the report.

    The optional JSON body ``{"env": "recorded"}`` replays in the run's recreated environment
    (default ``"current"``); its steps come first as ``{"event": "env", "phase":
    "resolve"|"create"|"install"|"kernel"|"ready"|"cached", "done": i, "total": n, "text": t}``.
    Then ``{"event": "progress", "done": i, "total": n}`` per cell, ``{"event": "note", "kind":
    k, "text": t}`` (environment differences in summary, changed inputs) and finally
    ``{"event": "result", "report": {...}}`` (its ``environment`` says where it ran) or
    ``{"event": "error", "message": ...}``.
    """

    @tornado.web.authenticated
    async def post(self, run_id: str) -> None:
        from nbtrack.reproduce.replay import ENV_MODES, replay_run

        env = self._env_mode(ENV_MODES)
        url = self.store_url()
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

        def notify(kind: str, payload: Any) -> None:
            if kind == "cell":
                index, total = payload
                event = {"event": "progress", "done": index, "total": total}  # index counts from 1
            elif kind == "env":
                event = {"event": "env", **payload}
            elif kind == "environment_all":
                return  # the full list is in the report's environment_diff
            else:
                lines = payload if isinstance(payload, list) else [payload]
                event = {"event": "note", "kind": kind, "text": "\n".join(map(str, lines))}
            loop.call_soon_threadsafe(queue.put_nowait, event)

        def work() -> Any:
            store = self.open_store(url)
            return replay_run(
                store.resolve_run_id(run_id), store, progress=False, notify=notify, env=env
            ).to_json()

        self.set_header("Content-Type", "application/x-ndjson")
        self.set_header("Cache-Control", "no-store")
        task = asyncio.ensure_future(self.blocking(work))
        while True:
            getter = asyncio.ensure_future(queue.get())
            done, _ = await asyncio.wait({task, getter}, return_when=asyncio.FIRST_COMPLETED)
            if getter in done:
                await self._line(getter.result())
                continue
            getter.cancel()
            break
        while not queue.empty():
            await self._line(queue.get_nowait())
        exc = task.exception()
        if exc is None:
            await self._line({"event": "result", "report": task.result()})
        else:
            message = (
                exc.log_message
                if isinstance(exc, tornado.web.HTTPError)
                else f"{type(exc).__name__}: {exc}"
            )
            await self._line({"event": "error", "message": message})
        self.finish(set_content_type="application/x-ndjson")

    def _env_mode(self, modes: tuple[str, ...]) -> str:
        """The body's ``env`` (``"current"`` when the body is empty or has none)."""
        raw = self.request.body.strip()
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            raise tornado.web.HTTPError(
                400, 'the body must be JSON, like {"env": "recorded"}'
            ) from None
        env = body.get("env", "current") if isinstance(body, dict) else None
        if env not in modes:
            raise tornado.web.HTTPError(
                400, f"env must be one of {', '.join(modes)}, got {str(env)[:40]!r}"
            )
        return str(env)

    async def _line(self, payload: dict[str, Any]) -> None:
        self.write(json.dumps(jsonable(payload), allow_nan=False) + "\n")
        await self.flush()


class ExportHandler(NbtrackHandler):
    """``GET /runs/<id>/export?format=script|notebook|bundle``: download the run as a file."""

    @tornado.web.authenticated
    async def get(self, run_id: str) -> None:
        fmt = self.get_query_argument("format", "script")
        if fmt not in EXPORT_FORMATS:
            raise tornado.web.HTTPError(
                400, f"format must be one of {', '.join(EXPORT_FORMATS)}, got {fmt[:40]!r}"
            )
        from nbtrack.reproduce.export import export_run

        url = self.store_url()

        def work() -> tuple[str, bytes]:
            import tempfile

            store = self.open_store(url)
            rid = store.resolve_run_id(run_id)
            with tempfile.TemporaryDirectory(prefix="nbtrack-export-") as tmp:
                out = os.path.join(tmp, f"export{EXPORT_FORMATS[fmt][1]}")
                written = export_run(store, rid, fmt, out)
                with open(written, "rb") as fh:
                    return rid, fh.read()

        rid, data = await self.blocking(work)
        kind, ext = EXPORT_FORMATS[fmt]
        name = posixpath.basename(f"nbtrack-{rid[:12]}{ext}")
        self.set_header("Content-Disposition", f'attachment; filename="{name}"')
        self.finish(data, set_content_type=kind)
