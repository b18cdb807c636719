"""The nbtrack REST API (server extension) through a real Jupyter server and a real store."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from server_fixtures import jp_server_config, no_store_from_env  # noqa: F401
from tornado.httpclient import HTTPClientError

from nbtrack.store import CellRecord, open_store

pytest_plugins = ["pytest_jupyter.jupyter_server"]


@pytest.fixture
def store(jp_root_dir: Path) -> Any:
    return open_store(jp_root_dir / ".nbtrack")


def make_run(
    store: Any,
    *,
    name: str = "baseline",
    experiment: str = "churn",
    status: str = "finished",
    start: float | None = None,
    params: dict[str, str] | None = None,
    tags: dict[str, str] | None = None,
    metrics: dict[str, list[float]] | None = None,
    cells: list[str] | None = None,
) -> str:
    """A run written through the store API, with optional cells recorded in its own session."""
    run_id = uuid.uuid4().hex
    start = time.time() if start is None else start
    session_id = None
    if cells:
        session_id = uuid.uuid4().hex
        store.add_session(
            {"id": session_id, "kind": "kernel", "started": start, "host": "test", "pid": 1}
        )
        for seq, source in enumerate(cells, 1):
            store.record_cell(
                CellRecord(
                    session_id=session_id,
                    seq=seq,
                    source=source,
                    start_time=start + seq,
                    end_time=start + seq + 0.5,
                    status="ok",
                    execution_count=seq,
                    cell_id=f"cell-{seq}",
                    state_diff={"x": f"h{seq}"},
                )
            )
    row = {
        "id": run_id,
        "name": name,
        "status": status,
        "start_time": start,
        "end_time": None if status == "running" else start + 60,
        "session_id": session_id,
        "start_seq": 1 if cells else None,
        "end_seq": len(cells) if cells else None,
    }
    store.create_run(row, experiment, params or {}, tags or {})
    for key, values in (metrics or {}).items():
        points = [(key, v, i, start + i, None) for i, v in enumerate(values)]
        store.write(lambda conn, p=points: store.write_batch(conn, run_id, {}, {}, p))
    return run_id


async def get_json(jp_fetch: Any, *path: str, **params: Any) -> Any:
    response = await jp_fetch("nbtrack", "api", *path, params=params)
    return json.loads(response.body)


async def send_json(jp_fetch: Any, method: str, *path: str, body: Any = None, **params: Any) -> Any:
    response = await jp_fetch(
        "nbtrack",
        "api",
        *path,
        method=method,
        params=params,
        body=None if body is None else json.dumps(body),
        allow_nonstandard_methods=True,
    )
    return json.loads(response.body)


async def error_of(call: Any) -> tuple[int, str]:
    with pytest.raises(HTTPClientError) as info:
        await call
    body = json.loads(info.value.response.body)
    return info.value.code, body["message"]


async def test_runs_list_newest_first_with_params_metrics_and_duration(
    jp_fetch: Any, store: Any
) -> None:
    # Given two runs started a minute apart
    old = make_run(
        store, name="old", start=1000.0, params={"lr": "0.1"}, metrics={"acc": [0.5, 0.7]}
    )
    new = make_run(store, name="new", start=1060.0, experiment="other")
    # When the sidebar lists runs
    page = await get_json(jp_fetch, "runs")
    # Then the newest comes first, each with params, latest metrics and duration
    assert [r["id"] for r in page["runs"]] == [new, old]
    first_old = page["runs"][1]
    assert first_old["params"] == {"lr": "0.1"}
    assert first_old["metrics"] == {"acc": 0.7}
    assert first_old["duration"] == 60
    assert first_old["experiment"] == "churn"
    assert page["next_page_token"] is None


async def test_runs_list_pages_until_the_last_run(jp_fetch: Any, store: Any) -> None:
    ids = [make_run(store, name=f"r{i}", start=1000.0 + i) for i in range(5)]
    seen, token = [], None
    while True:
        params = {"max_results": "2"} | ({"page_token": token} if token else {})
        page = await get_json(jp_fetch, "runs", **params)
        seen += [r["id"] for r in page["runs"]]
        token = page["next_page_token"]
        if not token:
            break
    assert seen == ids[::-1]


async def test_runs_list_of_an_experiment(jp_fetch: Any, store: Any) -> None:
    mine = make_run(store, experiment="churn")
    make_run(store, experiment="fraud")
    page = await get_json(jp_fetch, "runs", experiment="churn")
    assert [r["id"] for r in page["runs"]] == [mine]


async def test_runs_list_is_empty_when_nothing_was_recorded(
    jp_fetch: Any, jp_root_dir: Path
) -> None:
    page = await get_json(jp_fetch, "runs")
    assert page["runs"] == []
    assert page["store"] == str(jp_root_dir / ".nbtrack")
    assert not (jp_root_dir / ".nbtrack").exists(), "reading must not create a store"


async def test_bad_max_results_is_a_json_error(jp_fetch: Any, store: Any) -> None:
    code, message = await error_of(get_json(jp_fetch, "runs", max_results="lots"))
    assert code == 400 and "max_results must be an integer" in message


async def test_store_beside_the_open_notebook_is_used(
    jp_fetch: Any, jp_root_dir: Path, store: Any
) -> None:
    # Given a run in the root store and another in a store beside a notebook in a sub-folder
    make_run(store, name="root-run")
    nb_store = open_store(jp_root_dir / "project" / ".nbtrack")
    beside = make_run(nb_store, name="beside")
    # When the client says which notebook is open
    page = await get_json(jp_fetch, "runs", notebook="project/analysis.ipynb")
    # Then the runs come from the store beside it
    assert [r["id"] for r in page["runs"]] == [beside]
    other = await get_json(jp_fetch, "runs", notebook="elsewhere/x.ipynb")
    assert [r["name"] for r in other["runs"]] == ["root-run"]


async def test_notebook_path_outside_the_root_is_refused(jp_fetch: Any, store: Any) -> None:
    code, message = await error_of(get_json(jp_fetch, "runs", notebook="../../etc/x.ipynb"))
    assert code == 400 and "'..'" in message


async def test_one_run_has_cells_with_code_metrics_and_provenance(
    jp_fetch: Any, store: Any
) -> None:
    run_id = make_run(
        store,
        cells=["import numpy as np", "x = np.arange(3)"],
        metrics={"loss": [1.0, 0.5]},
        tags={"owner": "ana"},
    )
    run = await get_json(jp_fetch, "runs", run_id[:8])
    assert run["id"] == run_id
    assert [c["source"] for c in run["cells"]] == ["import numpy as np", "x = np.arange(3)"]
    assert [c["cell_id"] for c in run["cells"]] == ["cell-1", "cell-2"]
    assert run["metric_summary"]["loss"]["latest"] == 0.5
    assert run["tags"] == {"owner": "ana"}
    assert set(run["notebook"]) == {"path", "hash", "git_commit", "git_diff_hash"}


async def test_unknown_run_is_404_with_message(jp_fetch: Any, store: Any) -> None:
    make_run(store)
    code, message = await error_of(get_json(jp_fetch, "runs", "abcdef0123"))
    assert code == 404 and "no run with id" in message


async def test_metric_history_is_downsampled_on_request(jp_fetch: Any, store: Any) -> None:
    values = [float(i % 50) for i in range(1000)]
    values[500] = 1e6  # a spike that must survive downsampling
    values[10] = float("nan")
    run_id = make_run(store, metrics={"loss": values})
    full = await get_json(jp_fetch, "runs", run_id, "metrics", key="loss")
    assert full["total"] == 1000 and len(full["points"]) == 1000 and not full["downsampled"]
    assert full["points"][10]["value"] == "NaN"
    small = await get_json(jp_fetch, "runs", run_id, "metrics", key="loss", max_points="100")
    assert small["downsampled"] and len(small["points"]) <= 100
    assert max(p["value"] for p in small["points"] if p["value"] != "NaN") == 1e6
    assert small["points"][0]["step"] == 0 and small["points"][-1]["step"] == 999


async def test_metric_that_does_not_exist_is_404(jp_fetch: Any, store: Any) -> None:
    run_id = make_run(store, metrics={"acc": [1.0]})
    code, message = await error_of(get_json(jp_fetch, "runs", run_id, "metrics", key="nope"))
    assert code == 404 and "'nope'" in message


async def test_experiments_with_run_counts(jp_fetch: Any, store: Any) -> None:
    make_run(store, experiment="churn", start=1.0)
    make_run(store, experiment="churn", start=2.0)
    make_run(store, experiment="fraud", start=3.0)
    body = await get_json(jp_fetch, "experiments")
    assert [(e["name"], e["runs"]) for e in body["experiments"]] == [("fraud", 1), ("churn", 2)]


async def test_rename_notes_and_tags_are_saved(jp_fetch: Any, store: Any) -> None:
    run_id = make_run(store, tags={"stale": "1"})
    await send_json(
        jp_fetch, "PATCH", "runs", run_id, body={"name": "better name", "notes": "<b>not html</b>"}
    )
    await send_json(jp_fetch, "PUT", "runs", run_id, "tags", body={"tags": {"owner": "ana"}})
    after = await send_json(jp_fetch, "DELETE", "runs", run_id, "tags", key="stale")
    assert after["tags"] == {"owner": "ana"}
    run = await get_json(jp_fetch, "runs", run_id)
    assert (run["name"], run["notes"]) == ("better name", "<b>not html</b>")


async def test_invalid_tag_name_is_rejected_with_reason(jp_fetch: Any, store: Any) -> None:
    run_id = make_run(store)
    code, message = await error_of(
        send_json(jp_fetch, "PUT", "runs", run_id, "tags", body={"tags": {"a<b": "x"}})
    )
    assert code == 400 and "tag name" in message


async def test_deleted_run_leaves_the_list_and_comes_back_on_restore(
    jp_fetch: Any, store: Any
) -> None:
    run_id = make_run(store)
    await send_json(jp_fetch, "DELETE", "runs", run_id)
    assert (await get_json(jp_fetch, "runs"))["runs"] == []
    listed = await get_json(jp_fetch, "runs", include_deleted="1")
    assert listed["runs"][0]["deleted_at"] is not None
    await send_json(jp_fetch, "POST", "runs", run_id, "restore", body={})
    assert [r["id"] for r in (await get_json(jp_fetch, "runs"))["runs"]] == [run_id]


async def test_artifact_downloads_as_attachment(jp_fetch: Any, store: Any) -> None:
    run_id = make_run(store)
    store.add_artifact(run_id, "plots/page.html", b"<script>alert(1)</script>")
    response = await jp_fetch(
        "nbtrack", "api", "runs", run_id, "artifact", params={"path": "plots/page.html"}
    )
    assert response.body == b"<script>alert(1)</script>"
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["Content-Disposition"].startswith("attachment")


@pytest.mark.parametrize(
    "path",
    [
        "../nbtrack.db",
        "../../../../etc/passwd",
        "/etc/passwd",
        "plots/../../nbtrack.db",
        "..",
        "a/../../b",
    ],
)
async def test_artifact_path_cannot_escape_the_store(jp_fetch: Any, store: Any, path: str) -> None:
    run_id = make_run(store)
    store.add_artifact(run_id, "model.txt", b"weights")
    code, message = await error_of(
        jp_fetch("nbtrack", "api", "runs", run_id, "artifact", params={"path": path})
    )
    assert code == 400 and "without '..'" in message


async def test_artifact_not_recorded_is_404(jp_fetch: Any, store: Any) -> None:
    run_id = make_run(store)
    code, _ = await error_of(
        jp_fetch("nbtrack", "api", "runs", run_id, "artifact", params={"path": "nbtrack.db"})
    )
    assert code == 404


async def test_every_endpoint_refuses_requests_without_a_token(jp_fetch: Any, store: Any) -> None:
    from tornado.web import RequestHandler

    from nbtrack.server.handlers import RUN_ID
    from nbtrack.server.routes import ROUTES

    run_id = make_run(store)
    for path, handler in ROUTES:
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            if getattr(handler, method.lower()) is getattr(RequestHandler, method.lower()):
                continue  # a method the endpoint does not have
            parts = path.replace(RUN_ID, run_id).split("/")
            body = "{}" if method in ("POST", "PUT", "PATCH") else None
            response = await jp_fetch(
                "nbtrack",
                "api",
                *parts,
                method=method,
                body=body,
                headers={"Authorization": ""},
                raise_error=False,
            )
            assert response.code in (401, 403), (method, path, response.code)
    assert store.run_summaries([run_id])[0]["deleted_at"] is None


async def test_writes_with_a_cookie_but_no_xsrf_token_are_refused(
    jp_fetch: Any, jp_auth_header: dict[str, str], store: Any
) -> None:
    # Given a browser session cookie obtained by opening the server with its token
    run_id = make_run(store)
    token = jp_auth_header["Authorization"].split()[-1]
    login = await jp_fetch(
        "login",
        params={"token": token},
        headers={"Authorization": ""},
        follow_redirects=False,
        raise_error=False,
    )
    cookies = "; ".join(c.split(";")[0] for c in login.headers.get_list("Set-Cookie"))
    assert "username" in cookies, f"the server set no login cookie: {login.code} {cookies!r}"
    browser = {"Authorization": "", "Cookie": cookies}
    readable = await jp_fetch("nbtrack", "api", "runs", run_id, headers=browser, raise_error=False)
    assert readable.code == 200, "the cookie alone authenticates reads"
    # When it deletes a run with the cookie alone, without the _xsrf token
    response = await jp_fetch(
        "nbtrack", "api", "runs", run_id, method="DELETE", headers=browser, raise_error=False
    )
    # Then it is refused and the run is still there
    assert response.code == 403
    assert store.run_summaries([run_id])[0]["deleted_at"] is None


async def test_replay_streams_progress_then_the_report(jp_fetch: Any, store: Any) -> None:
    pytest.importorskip("nbtrack.reproduce.replay")
    # Given a run whose recorded state hashes a fresh kernel cannot match
    run_id = make_run(store, cells=["a = 1", "b = a + 1"])
    # When the sidebar asks for a replay
    response = await jp_fetch(
        "nbtrack", "api", "runs", run_id, "replay", method="POST", body="{}", request_timeout=240
    )
    # Then JSON lines report each cell, then the report names where it diverged
    assert response.headers["Content-Type"] == "application/x-ndjson"
    events = [json.loads(line) for line in response.body.decode().splitlines() if line.strip()]
    progress = [e for e in events if e["event"] == "progress"]
    assert [(e["done"], e["total"]) for e in progress] == [(1, 2), (2, 2)]
    assert events[-1]["event"] == "result", events[-1]
    report = events[-1]["report"]
    assert report["cells_total"] == 2 and report["reproduced"] is False
    assert report["divergences"][0]["index"] == 0


async def test_replay_of_a_run_without_cells_reports_an_error_line(
    jp_fetch: Any, store: Any
) -> None:
    pytest.importorskip("nbtrack.reproduce.replay")
    run_id = make_run(store)
    response = await jp_fetch("nbtrack", "api", "runs", run_id, "replay", method="POST", body="{}")
    last = json.loads(response.body.decode().splitlines()[-1])
    assert last["event"] == "error" and "no recorded cells" in last["message"]


async def test_export_downloads_the_run_as_a_script(
    jp_fetch: Any, store: Any, jp_root_dir: Path
) -> None:
    pytest.importorskip("nbtrack.reproduce.export")
    run_id = make_run(store, cells=["a = 1", "b = a + 1"])
    response = await jp_fetch(
        "nbtrack", "api", "runs", run_id, "export", params={"format": "script"}
    )
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert "b = a + 1" in response.body.decode()
    assert not list(jp_root_dir.glob("*.py")), "the export must not be left in the server's folder"


async def test_export_format_is_checked(jp_fetch: Any, store: Any) -> None:
    run_id = make_run(store)
    code, message = await error_of(get_json(jp_fetch, "runs", run_id, "export", format="pdf"))
    assert code == 400 and "script, notebook, bundle" in message


async def test_compare_puts_runs_side_by_side_and_marks_what_differs(
    jp_fetch: Any, store: Any
) -> None:
    # Given two runs with one param in common, one that differs, a metric and different code
    a = make_run(
        store,
        name="a",
        start=1000.0,
        params={"lr": "0.1", "seed": "1"},
        metrics={"acc": [0.5, 0.7]},
        tags={"owner": "ana"},
        cells=["x = 1", "y = x * 2"],
    )
    b = make_run(
        store,
        name="b",
        start=1060.0,
        params={"lr": "0.2", "seed": "1"},
        metrics={"acc": [0.6, 0.9]},
        tags={"owner": "ana"},
        cells=["x = 1", "y = x * 3"],
    )
    # When the sidebar compares them (by id prefixes)
    data = await get_json(jp_fetch, "compare", runs=f"{a[:10]},{b[:10]}")
    # Then runs are columns in the order asked, every row says whether it differs
    assert [r["id"] for r in data["runs"]] == [a, b]
    params = {p["key"]: p for p in data["params"]}
    assert params["lr"] == {"key": "lr", "values": ["0.1", "0.2"], "same": False}
    assert params["seed"]["same"] is True
    assert data["metrics"] == [
        {
            "key": "acc",
            "values": [
                {"min": 0.5, "max": 0.7, "last": 0.7},
                {"min": 0.6, "max": 0.9, "last": 0.9},
            ],
            "same": False,
        }
    ]
    assert data["tags"] == [{"key": "owner", "values": ["ana", "ana"], "same": True}]
    # And the code diff of the two executed sequences shows the changed cell
    (diff,) = data["code"]
    assert (diff["a"], diff["b"]) == (a, b)
    assert [c["kind"] for c in diff["cells"]] == ["same", "changed"]
    assert {"op": "+", "text": "y = x * 3"} in diff["cells"][1]["lines"]


async def test_compare_of_three_runs_diffs_the_code_of_the_first_two(
    jp_fetch: Any, store: Any
) -> None:
    ids = [
        make_run(store, name=f"r{i}", params={"k": str(i)}, cells=[f"v = {i}"]) for i in range(3)
    ]
    response = await jp_fetch("nbtrack", "api", "compare", params={"runs": ",".join(ids)})
    data = json.loads(response.body)
    assert data["params"][0]["values"] == ["0", "1", "2"]
    assert [(d["a"], d["b"]) for d in data["code"]] == [(ids[0], ids[1])]


async def test_compare_leaves_out_system_metrics_and_keeps_nan_as_text(
    jp_fetch: Any, store: Any
) -> None:
    a = make_run(store, metrics={"system/cpu": [10.0], "loss": [float("nan")]})
    b = make_run(store, metrics={"system/cpu": [20.0], "loss": [0.5]})
    data = await get_json(jp_fetch, "compare", runs=f"{a},{b}")
    assert [m["key"] for m in data["metrics"]] == ["loss"]
    assert data["metrics"][0]["values"][0]["last"] == "NaN"


async def test_compare_of_an_unknown_run_is_404_with_message(jp_fetch: Any, store: Any) -> None:
    a = make_run(store)
    code, message = await error_of(get_json(jp_fetch, "compare", runs=f"{a},abcdef0123"))
    assert code == 404 and "no run with id 'abcdef0123'" in message


@pytest.mark.parametrize(
    ("runs", "expected"),
    [
        ("", "2 to 20 runs"),
        ("abc", "2 to 20 runs"),
        ("abc,../etc", "not a run id"),
        (",".join(["a"] * 21), "2 to 20 runs"),
    ],
)
async def test_compare_arguments_are_checked(
    jp_fetch: Any, store: Any, runs: str, expected: str
) -> None:
    code, message = await error_of(get_json(jp_fetch, "compare", runs=runs))
    assert code == 400 and expected in message


async def test_compare_of_the_same_run_twice_is_a_json_error(jp_fetch: Any, store: Any) -> None:
    a = make_run(store)
    code, message = await error_of(get_json(jp_fetch, "compare", runs=f"{a},{a[:8]}"))
    assert code == 400 and "two different runs" in message


async def test_compare_without_a_token_is_refused(jp_fetch: Any, store: Any) -> None:
    a, b = make_run(store), make_run(store)
    response = await jp_fetch(
        "nbtrack",
        "api",
        "compare",
        params={"runs": f"{a},{b}"},
        headers={"Authorization": ""},
        raise_error=False,
    )
    assert response.code == 403
    assert b"acc" not in response.body and a.encode() not in response.body


def test_configured_store_wins_over_the_root_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from traitlets.config import Config

    from nbtrack.server.config import NbtrackConfig, store_for

    root = str(tmp_path)
    assert NbtrackConfig().default_store(root) == str(tmp_path / ".nbtrack")
    monkeypatch.setenv("NBTRACK_STORE", str(tmp_path / "from-env"))
    assert NbtrackConfig().default_store(root) == str(tmp_path / "from-env")
    config = Config({"NbtrackConfig": {"store": "runs"}})
    assert NbtrackConfig(config=config).default_store(root) == str(tmp_path / "runs")
    assert store_for(NbtrackConfig(config=config), root, "sub/nb.ipynb") == str(tmp_path / "runs")
