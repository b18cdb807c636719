"""What every nbtrack API handler shares: store choice, work off the event loop, JSON in and out."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import tornado.web
from jupyter_server.base.handlers import APIHandler

from nbtrack.errors import NbtrackError, NotFoundError, StoreError, ValidationError
from nbtrack.query.jsonsafe import jsonable
from nbtrack.server.config import NbtrackConfig, store_for

T = TypeVar("T")

# nbtrack's errors as HTTP statuses, the first class that matches wins (a QueryError is a ValidationError)
ERROR_STATUS: tuple[tuple[type[NbtrackError], int], ...] = (
    (ValidationError, 400),
    (NotFoundError, 404),
    (StoreError, 503),
)


class NoStore(NotFoundError):
    """The chosen store directory has no database yet (nothing recorded there)."""


class NbtrackHandler(APIHandler):
    """Base of the API handlers. Subclasses decorate each verb with ``@tornado.web.authenticated``."""

    @property
    def nbtrack(self) -> dict[str, Any]:
        return self.settings["nbtrack"]  # type: ignore[no-any-return]

    @property
    def nbtrack_config(self) -> NbtrackConfig:
        return self.nbtrack["config"]  # type: ignore[no-any-return]

    def store_url(self) -> str:
        """The store a request means. A notebook's own ``.nbtrack`` is resolved to its real
        path, which must lie inside the server's root: a symlink there cannot lead reads and
        writes elsewhere (403)."""
        notebook = self.get_query_argument("notebook", None)
        root_dir = self.nbtrack["root_dir"]
        try:
            url = store_for(self.nbtrack_config, root_dir, notebook)
        except ValidationError as exc:
            raise tornado.web.HTTPError(400, str(exc)) from exc
        if not notebook or "://" in url or url == self.nbtrack_config.default_store(root_dir):
            return url
        real, root = os.path.realpath(url), os.path.realpath(root_dir)
        if real != root and not real.startswith(root + os.sep):
            raise tornado.web.HTTPError(
                403, f"the store beside notebook {notebook[:200]!r} leads outside the server root"
            )
        return real

    def open_store(self, url: str) -> Any:
        """The store at ``url``; :class:`NoStore` when nothing was ever recorded there."""
        from nbtrack.store import open_store

        try:
            store = open_store(url, create=False)
            if store.is_sqlite and not os.path.isfile(store.db_path):  # deleted since
                store.close()
                store = open_store(url, create=False)  # raises: no store there now
            return store
        except StoreError as exc:
            if "://" not in url and "no nbtrack store" in str(exc):
                raise NoStore(
                    f"no nbtrack store at {url} yet: run %load_ext nbtrack in a notebook"
                ) from exc
            raise

    async def blocking(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the extension's thread pool, nbtrack's errors becoming HTTP errors
        (:data:`ERROR_STATUS`) whose message the client shows."""
        executor: ThreadPoolExecutor = self.nbtrack["executor"]
        try:
            return await asyncio.get_running_loop().run_in_executor(executor, fn, *args)
        except NbtrackError as exc:
            status = next((code for cls, code in ERROR_STATUS if isinstance(exc, cls)), None)
            if status is None:
                raise
            raise tornado.web.HTTPError(status, str(exc)) from exc

    def json_body(self) -> dict[str, Any]:
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError as exc:
            raise tornado.web.HTTPError(400, f"the request body is not JSON: {exc}") from exc
        if not isinstance(body, dict):
            raise tornado.web.HTTPError(400, "the request body must be a JSON object")
        return body

    def send(self, payload: Any, status: int = 200, sanitized: bool = False) -> None:
        """``payload`` as JSON, NaN and infinities spelled by :func:`~nbtrack.query.jsonsafe.jsonable`;
        ``sanitized`` for the read model's payloads, JSON-safe already (skips a deep copy)."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(payload if sanitized else jsonable(payload), allow_nan=False))

    def int_argument(self, name: str, default: int, lo: int, hi: int) -> int:
        raw = self.get_query_argument(name, None)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise tornado.web.HTTPError(
                400, f"{name} must be an integer, got {raw[:50]!r}"
            ) from None
        if not lo <= value <= hi:
            raise tornado.web.HTTPError(400, f"{name} must be between {lo} and {hi}, got {value}")
        return value

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Errors as ``{"message": ...}``; internal ones without the traceback."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, tornado.web.HTTPError) and exc.log_message:
            message = exc.log_message % exc.args  # without args, tornado doubled each %
        else:
            message = (
                self._reason
                if status_code != 500
                else f"nbtrack server error: {type(exc).__name__}: {exc}"
            )
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"message": message}))
