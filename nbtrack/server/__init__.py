"""Jupyter server extension: the REST API under ``/nbtrack/api/`` that the sidebar reads.

Enabled by ``jupyter-config/server-config/nbtrack.json``, installed with the wheel into
``etc/jupyter/jupyter_server_config.d``; the prebuilt front end ships in
``share/jupyter/labextensions/nbtrack``.
"""

from __future__ import annotations

from typing import Any


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "nbtrack.server"}]


def _load_jupyter_server_extension(server_app: Any) -> None:
    """Register the handlers on the running server (called once by jupyter_server)."""
    from nbtrack.server.config import NbtrackConfig
    from nbtrack.server.routes import setup_routes

    config = NbtrackConfig(parent=server_app)
    setup_routes(server_app.web_app, config, root_dir=server_app.root_dir)
    server_app.log.info(
        "nbtrack: API at /nbtrack/api/ (default store %s)",
        config.default_store(server_app.root_dir),
    )


# jupyter_server < 2 looked for the name without the leading underscore.
load_jupyter_server_extension = _load_jupyter_server_extension
