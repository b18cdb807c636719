"""Configuration of the server extension and the choice of store for a request."""

from __future__ import annotations

import os

from traitlets import Integer, Unicode, default
from traitlets.config import Configurable

from nbtrack.errors import ValidationError


class NbtrackConfig(Configurable):
    """``c.NbtrackConfig.store = "/data/runs"`` in jupyter_server_config.py, or ``NBTRACK_STORE``."""

    store = Unicode(
        help=(
            "The nbtrack store the sidebar shows when the notebook has none beside it: a directory "
            "or a database URL. Defaults to NBTRACK_STORE, else .nbtrack in the server's root directory."
        ),
    ).tag(config=True)

    max_page_size = Integer(1000, help="Largest page of runs one list request may ask for.").tag(
        config=True
    )

    workers = Integer(4, help="Threads that run store queries off the event loop.").tag(config=True)

    @default("store")
    def _store_default(self) -> str:
        return os.environ.get("NBTRACK_STORE", "")

    def default_store(self, root_dir: str) -> str:
        """The configured store, else ``<root_dir>/.nbtrack``."""
        if self.store:
            if "://" in self.store:
                return self.store
            return os.path.abspath(os.path.join(root_dir, os.path.expanduser(self.store)))
        return os.path.join(os.path.abspath(root_dir), ".nbtrack")


def store_for(config: NbtrackConfig, root_dir: str, notebook: str | None) -> str:
    """The store a request means: ``.nbtrack`` beside ``notebook`` when it exists, else the default.

    ``notebook`` is a server path (relative to ``root_dir``, ``/``-separated); one that points
    outside the root directory is refused.
    """
    if notebook:
        root = os.path.realpath(root_dir)
        parts = [p for p in notebook.replace("\\", "/").split("/") if p not in ("", ".")]
        if ".." in parts or os.path.isabs(notebook.lstrip("/")) or "\0" in notebook:
            raise ValidationError(
                f"notebook path {notebook[:200]!r} must be relative to the server root, without '..'"
            )
        folder = os.path.realpath(os.path.join(root, *parts[:-1]))
        if folder != root and not folder.startswith(root + os.sep):
            raise ValidationError(f"notebook path {notebook[:200]!r} leaves the server root")
        beside = os.path.join(folder, ".nbtrack")
        if os.path.isfile(os.path.join(beside, "nbtrack.db")):
            return beside
    return config.default_store(root_dir)
