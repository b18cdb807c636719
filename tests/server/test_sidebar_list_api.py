"""The API the sidebar's run list uses: runs nested under their parent (``nest=1``) and a
delete that names, then takes along, the runs nested under a run; a real Jupyter server and a
real store."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from nbtrack.store import open_store

pytest_plugins = ["pytest_jupyter.jupyter_server"]


@pytest.fixture
def jp_server_config(jp_root_dir: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.delenv("NBTRACK_STORE", raising=False)  # the store is .nbtrack in the root
    return {"ServerApp": {"jpserver_extensions": {"nbtrack.server": True}}}


@pytest.fixture
def store(jp_root_dir: Path) -> Any:
    return open_store(jp_root_dir / ".nbtrack")


def make_run(store: Any, name: str, start: float, parent: str | None = None) -> str:
    run_id = uuid.uuid4().hex
    row = {"id": run_id, "name": name, "status": "finished", "start_time": start}
    store.create_run({**row, "end_time": start + 1, "parent_run_id": parent}, "exp", {}, {})
    return run_id


async def call(jp_fetch: Any, method: str, *path: str, **params: str) -> Any:
    body = None if method == "GET" else ("{}" if method == "POST" else None)
    response = await jp_fetch(
        "nbtrack",
        "api",
        *path,
        method=method,
        params=params,
        body=body,
        allow_nonstandard_methods=True,
    )
    return json.loads(response.body)


async def test_nest_lists_children_right_after_their_parent_with_their_depth(
    jp_fetch: Any, store: Any
) -> None:
    # Given a replay with two re-run cells (started after it) and an older plain run
    now = time.time()
    plain = make_run(store, "plain", now - 100)
    replay = make_run(store, "replay", now - 50)
    kids = [make_run(store, f"cell-{i}", now - 40 + i, parent=replay) for i in range(2)]
    # When the sidebar lists the runs, newest first, nested
    runs = (await call(jp_fetch, "GET", "runs", nest="1"))["runs"]
    # Then the children follow the replay, one level down, and the plain run comes last
    assert [(r["id"], r["depth"]) for r in runs] == [
        (replay, 0),
        (kids[1], 1),
        (kids[0], 1),
        (plain, 0),
    ]
    # And without nest the list is as before: newest first, no depth
    flat = (await call(jp_fetch, "GET", "runs"))["runs"]
    assert [r["id"] for r in flat] == [kids[1], kids[0], replay, plain]
    assert "depth" not in flat[0]


async def test_delete_names_the_nested_runs_first_then_deletes_them_with_the_parent(
    jp_fetch: Any, store: Any
) -> None:
    # Given a replay with two children
    replay = make_run(store, "replay", 1.0)
    kids = [make_run(store, f"cell-{i}", 2.0 + i, parent=replay) for i in range(2)]
    # When the sidebar asks what a delete would take (its confirmation counts them)
    dry = await call(jp_fetch, "DELETE", "runs", replay, dry_run="1")
    # Then it names all three and deletes nothing
    assert dry == {"id": replay, "ids": [replay, *kids], "deleted": False}
    assert len((await call(jp_fetch, "GET", "runs"))["runs"]) == 3
    # When the user confirms, all three are deleted, and a restore brings all three back
    done = await call(jp_fetch, "DELETE", "runs", replay)
    assert done["deleted"] is True and done["ids"] == [replay, *kids]
    assert (await call(jp_fetch, "GET", "runs"))["runs"] == []
    await call(jp_fetch, "POST", "runs", replay, "restore")
    assert len((await call(jp_fetch, "GET", "runs"))["runs"]) == 3
