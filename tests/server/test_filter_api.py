"""What the filter box asks the server: whether a filter parses (``filter/check``), the keys it
completes (``keys``) and a name search through ``runs``; a real Jupyter server, a real store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from server_fixtures import jp_server_config, no_store_from_env  # noqa: F401

from nbtrack.store import open_store
from tests.server.test_server import make_run

pytest_plugins = ["pytest_jupyter.jupyter_server"]


@pytest.fixture
def runs(jp_root_dir: Path) -> None:
    store = open_store(jp_root_dir / ".nbtrack")
    make_run(store, name="sgd-alpha-0.01", params={"alpha": "0.01"}, metrics={"acc": [0.9]})
    make_run(store, name="sgd-alpha-3.0", params={"alpha": "3.0"}, metrics={"acc": [0.4]})
    make_run(store, name="adam", experiment="other", params={"lr": "0.1"}, tags={"owner": "ana"})
    store.close()


async def get(jp_fetch: Any, path: str, **params: Any) -> Any:
    response = await jp_fetch("nbtrack", "api", *path.split("/"), params=params)
    assert response.code == 200
    return json.loads(response.body)


async def test_a_good_filter_checks_ok(jp_fetch: Any) -> None:
    # Given no store at all (parsing needs none), When good filters are checked, Then they are ok
    for text in ("", "sgd", "sgd and metrics.acc > 0.9", "params.alpha = '3.0'"):
        assert await get(jp_fetch, "filter/check", filter=text) == {"ok": True}


async def test_a_bad_filter_checks_with_200_and_points_at_the_bad_token(jp_fetch: Any) -> None:
    # When a bad filter is checked
    body = await get(jp_fetch, "filter/check", filter="metrics.acc >> 0.9")
    # Then the answer is 200 (no failing request in the browser) naming the error and its place
    assert body["ok"] is False
    assert body["reason"] == "unknown operator '>>'"
    assert (body["position"], body["column"]) == (12, 13)
    lines = body["message"].splitlines()
    assert lines[1] == "  metrics.acc >> 0.9"
    assert lines[2] == "              ^^"  # the caret under '>>', two spaces of indent as the line
    assert body["hint"].startswith("operators are")


async def test_keys_name_the_experiments_keys_and_the_attributes(jp_fetch: Any, runs: None) -> None:
    # Given runs in two experiments, When the keys of one are asked
    keys = await get(jp_fetch, "keys", experiment="churn")
    # Then only its keys come, with the attributes a filter can name
    assert keys["params"] == ["alpha"] and keys["metrics"] == ["acc"] and keys["tags"] == []
    assert {"run_name", "status", "start_time"} <= set(keys["attributes"])
    every = await get(jp_fetch, "keys")
    assert every["params"] == ["alpha", "lr"] and every["tags"] == ["owner"]


async def test_runs_take_a_name_search(jp_fetch: Any, runs: None) -> None:
    page = await get(jp_fetch, "runs", filter="SGD 3.0")
    assert [r["name"] for r in page["runs"]] == ["sgd-alpha-3.0"]
    page = await get(jp_fetch, "runs", filter="sgd and metrics.acc > 0.5")
    assert [r["name"] for r in page["runs"]] == ["sgd-alpha-0.01"]
