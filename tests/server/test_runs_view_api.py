"""The Runs view's endpoints (``runs/table``, ``runs/table/best``, ``runs/table/csv``,
``runs/bulk``, ``keys``) through a real Jupyter server and a real store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from server_fixtures import jp_server_config, no_store_from_env  # noqa: F401
from tornado.httpclient import HTTPClientError

from nbtrack.store import open_store
from tests.server.test_server import make_run

pytest_plugins = ["pytest_jupyter.jupyter_server"]


@pytest.fixture
def runs(jp_root_dir: Path) -> dict[str, str]:
    store = open_store(jp_root_dir / ".nbtrack")
    a = make_run(store, name="a", start=1000.0, metrics={"acc": [0.7], "loss": [0.2]})
    b = make_run(store, name="b", start=2000.0, metrics={"acc": [0.9], "loss": [0.5]})
    store.close()
    return {"a": a, "b": b}


async def get(jp_fetch: Any, path: str, **params: Any) -> Any:
    response = await jp_fetch("nbtrack", "api", *path.split("/"), params=params)
    return json.loads(response.body)


async def test_a_table_page_is_sorted_counted_and_its_best_values_named(
    jp_fetch: Any, runs: dict[str, str]
) -> None:
    # Given two runs, When the table is asked sorted by acc, Then the best run comes first
    page = await get(jp_fetch, "runs/table", order_by="metrics.acc DESC", limit="1")
    assert page["total"] == 2 and [r["name"] for r in page["runs"]] == ["b"]
    assert page["runs"][0]["children"] == 0
    uncounted = await get(jp_fetch, "runs/table", offset="1", count="0")
    assert uncounted["total"] is None and [r["name"] for r in uncounted["runs"]] == ["a"]
    best = await jp_fetch(
        "nbtrack", "api", "runs", "table", "best", params=[("metric", "acc"), ("metric", "loss")]
    )
    assert json.loads(best.body)["best"] == {
        "acc": {"value": 0.9, "lower_is_better": False},
        "loss": {"value": 0.2, "lower_is_better": True},
    }
    keys = await get(jp_fetch, "keys")
    assert keys["metrics"] == ["acc", "loss"] and keys["experiments"] == ["churn"]


async def test_bulk_delete_and_restore_and_csv(jp_fetch: Any, runs: dict[str, str]) -> None:
    body = json.dumps({"action": "delete", "ids": [runs["a"], runs["b"]]})
    done = await jp_fetch("nbtrack", "api", "runs", "bulk", method="POST", body=body)
    assert set(json.loads(done.body)["ids"]) == {runs["a"], runs["b"]}
    assert (await get(jp_fetch, "runs/table"))["total"] == 0
    assert (await get(jp_fetch, "runs/table", deleted="1"))["total"] == 2
    body = json.dumps({"action": "restore", "ids": [runs["a"]]})
    await jp_fetch("nbtrack", "api", "runs", "bulk", method="POST", body=body)
    csv = await jp_fetch(
        "nbtrack",
        "api",
        "runs",
        "table",
        "csv",
        method="POST",
        body=json.dumps({"columns": ["name", "run_id", "metrics.acc"]}),
    )
    assert csv.headers["Content-Type"].startswith("text/csv")
    assert csv.body.decode() == f"name,run_id,metrics.acc\na,{runs['a']},0.7\n"


@pytest.mark.parametrize(
    "path, body, message",
    [
        ("runs/bulk", {"action": "purge", "ids": ["ab"]}, "action must be delete or restore"),
        ("runs/bulk", {"action": "delete", "ids": ["not-hex"]}, "ids must be a list"),
        ("runs/table/csv", {"columns": ["name", "colour"]}, "unknown column 'colour'"),
    ],
)
async def test_bad_requests_say_what_is_wrong(
    jp_fetch: Any, runs: dict[str, str], path: str, body: dict[str, Any], message: str
) -> None:
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("nbtrack", "api", *path.split("/"), method="POST", body=json.dumps(body))
    assert err.value.code == 400
    assert message in json.loads(err.value.response.body)["message"]
