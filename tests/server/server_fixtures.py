"""Fixtures for the tests that call nbtrack's server extension through pytest-jupyter's
``jp_fetch``: the extension enabled, and its store the default one, ``.nbtrack`` in the server's
root directory. A test module imports them by name (pytest then uses them for that module only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def no_store_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The server's default store is then ``.nbtrack`` in its root directory."""
    monkeypatch.delenv("NBTRACK_STORE", raising=False)


@pytest.fixture
def jp_server_config(jp_root_dir: Path, no_store_from_env: None) -> dict[str, Any]:
    return {"ServerApp": {"jpserver_extensions": {"nbtrack.server": True}}}
