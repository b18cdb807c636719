"""The query language's limits (issue #18, finding 10): every filter past a limit is a clear
QueryError naming it, never a RecursionError, SQL text or a 500, through the Python API, the CLI
and the server; the run tree of 1,000 nested runs is built without recursion."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli
from tornado.httpclient import HTTPClientError

from nbtrack.errors import QueryError
from nbtrack.query.runtree import nest
from nbtrack.query.search import search_runs
from nbtrack.store import open_store

pytest_plugins = ["pytest_jupyter.jupyter_server"]

# filters past a limit, and a word the error message must hold
PAST_LIMITS = {
    "999 nested parentheses": ("(" * 999 + "metrics.acc > 0" + ")" * 999, "nested"),
    "999 nested NOTs": ("NOT " * 999 + "metrics.acc > 0", "nested"),
    "999 nested MIN()": ("MIN(" * 999 + "metrics.acc" + ")" * 999 + " > 0", "nested"),
    "1,100 ORs": (" OR ".join(f"metrics.acc = {i}" for i in range(1100)), "conditions"),
    "a 100 KB LIKE pattern": ("params.model LIKE '" + "%a" * 50_000 + "'", "characters"),
    "a 10,000-character string": ("params.model = '" + "x" * 10_000 + "'", "characters"),
    "a 5,001-digit number": ("metrics.acc > " + "9" * 5001, "number"),
    # a number past a float (1e999) is infinite, as in MLflow: tests/query/test_mlflow_parity.py
    "a lone surrogate": ("params.model = '\ud800'", "surrogate"),
    "an IN list of 6,000 values": (
        "params.seed IN (" + ", ".join(f"'{i}'" for i in range(6000)) + ")",
        "values",
    ),
}
# filters within the limits, which must run (the SQL engine's own limits are not reached)
WITHIN_LIMITS = {
    "64 ANDed key conditions": " AND ".join(f"params.p{i} = '{i}'" for i in range(64)),
    "200 ANDed key conditions": " AND ".join(f"metrics.m{i} >= 0" for i in range(200)),
    "500 ORs": " OR ".join(f"metrics.acc = {i}" for i in range(500)),
    "500 ANDs": " AND ".join(f"attributes.run_name != 'r{i}'" for i in range(500)),
    "500 cell conditions": " OR ".join(f"cells.source LIKE '%x{i}%'" for i in range(500)),
    "100 nested parentheses": "(" * 99 + "metrics.acc > 0" + ")" * 99,
    "100 nested NOTs": "NOT " * 100 + "metrics.acc > 0",
    "nested ORs and ANDs 100 deep": "(metrics.a > 0 OR " * 99 + "params.b = '1'" + ")" * 99,
    "an integer past 64 bits": "metrics.acc < 99999999999999999999999",
    "a 5,000-value IN list": "params.seed IN (" + ", ".join(f"'{i}'" for i in range(5000)) + ")",
}


@pytest.fixture
def store(tmp_path: Path) -> Any:
    st = open_store(tmp_path / "store")
    for i in range(3):
        st.create_run(
            {
                "id": uuid.uuid4().hex,
                "name": f"r{i}",
                "status": "finished",
                "start_time": time.time() + i,
                "end_time": time.time() + i + 1,
            },
            "limits",
            {f"p{k}": str(k) for k in range(64)},
            {},
        )
    return st


@pytest.mark.parametrize("name", PAST_LIMITS)
def test_a_filter_past_a_limit_is_a_query_error_in_python(store, name):
    text, word = PAST_LIMITS[name]
    with pytest.raises(QueryError) as info:
        search_runs(text, store=store)
    message = str(info.value)
    assert word in message.lower(), message
    assert "SELECT" not in message and len(message) < 2_000, message[:500]


@pytest.mark.parametrize("name", WITHIN_LIMITS)
def test_a_filter_within_the_limits_runs(store, name):
    frame = search_runs(WITHIN_LIMITS[name], store=store)
    assert len(frame) <= 3


def test_64_anded_key_conditions_find_the_runs_holding_them_all(store):
    frame = search_runs(WITHIN_LIMITS["64 ANDed key conditions"], store=store)
    assert len(frame) == 3


@pytest.mark.parametrize("name", ["999 nested parentheses", "1,100 ORs", "a lone surrogate"])
def test_a_filter_past_a_limit_is_a_clear_error_in_the_cli(store, tmp_path, name):
    text, word = PAST_LIMITS[name]
    # what a terminal's bytes make of a surrogate: invalid UTF-8, decoded by Python as escapes
    text = text.replace("\ud800", b"\xed\xa0\x80".decode("utf-8", "surrogateescape"))
    done = run_cli("runs", "--filter", text, env={"NBTRACK_STORE": str(tmp_path / "store")})
    assert done.returncode != 0
    assert "Traceback" not in done.stderr and "SELECT" not in done.stderr, done.stderr[-2000:]
    assert word in done.stderr.lower(), done.stderr[-2000:]


def test_runs_nested_1000_deep_print_without_recursion(store, tmp_path):
    parent = None
    for i in range(1000):
        run_id = uuid.uuid4().hex
        store.create_run(
            {
                "id": run_id,
                "name": f"n{i}",
                "status": "finished",
                "start_time": 1.0 + i,
                "end_time": 2.0 + i,
                "parent_run_id": parent,
            },
            "deep",
            {},
            {},
        )
        parent = run_id
    done = run_cli("runs", "--experiment", "deep", env={"NBTRACK_STORE": str(tmp_path / "store")})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "RecursionError" not in done.stderr


def test_the_run_tree_of_a_deep_chain_is_built_in_order():
    records = [{"id": "r0", "parent_run_id": None}]
    records += [{"id": f"r{i}", "parent_run_id": f"r{i - 1}"} for i in range(1, 5000)]
    tree = nest(list(reversed(records)))
    assert [(d, r["id"]) for d, r in tree] == [(i, f"r{i}") for i in range(5000)]
    cycle = [{"id": "a", "parent_run_id": "b"}, {"id": "b", "parent_run_id": "a"}]
    assert [r["id"] for _, r in nest(cycle)] == ["a", "b"]


# -- the server ---------------------------------------------------------------------------------
@pytest.fixture
def jp_server_config(jp_root_dir: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.delenv("NBTRACK_STORE", raising=False)
    return {"ServerApp": {"jpserver_extensions": {"nbtrack.server": True}}}


@pytest.mark.parametrize(
    "name", ["999 nested parentheses", "1,100 ORs", "a 10,000-character string", "a lone surrogate"]
)
async def test_a_filter_past_a_limit_is_a_400_with_its_message_on_the_server(
    jp_fetch, jp_root_dir, name
):
    open_store(jp_root_dir / ".nbtrack").create_run(
        {"id": uuid.uuid4().hex, "name": "r", "status": "finished", "start_time": 1.0},
        "limits",
        {},
        {},
    )
    text, word = PAST_LIMITS[name]
    value = text.encode("utf-8", "surrogatepass")  # a surrogate as the bytes a client may send
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("nbtrack", "api", "runs", params={"filter": value})
    assert info.value.code == 400
    message = json.loads(info.value.response.body)["message"]
    if name == "a lone surrogate":  # tornado refuses the bytes before nbtrack sees them
        word = "unicode"
    assert word in message.lower() and "SELECT" not in message, message[:500]


async def test_a_percent_sign_in_an_error_message_is_not_doubled(jp_fetch, jp_root_dir):
    open_store(jp_root_dir / ".nbtrack")
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("nbtrack", "api", "runs", params={"filter": "params.a LIKE '%x' AND"})
    message = json.loads(info.value.response.body)["message"]
    assert "'%x'" in message and "%%" not in message, message
