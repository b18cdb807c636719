"""One read model of a run: the server API (through a real Jupyter server), the widgets (their
synced state, in-process) and ``nbtrack show`` (the CLI's main, in-process) give the same numbers,
NaN and infinities spelled one way, and the same downsampled series."""

from __future__ import annotations

import json
import math
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nbtrack.cli.main import main
from nbtrack.query.downsample import DEFAULT_POINTS
from nbtrack.query.jsonsafe import json_number, jsonable
from nbtrack.store import open_store
from nbtrack.widgets import chart, compare, run_view, runs_table
from tests.server.server_fixtures import jp_server_config, no_store_from_env  # noqa: F401

pytest_plugins = ["pytest_jupyter.jupyter_server"]

ODD = [1.5, math.nan, math.inf, 2.0, -math.inf]  # latest -inf; finite min -inf, max +inf
ENVIRONMENT = {"python": "3.11.4", "platform": "linux"}


@pytest.fixture
def path(jp_root_dir: Path) -> Path:
    """The store the server shows by default."""
    return jp_root_dir / ".nbtrack"


def make_run(path: Path, name: str, metrics: dict[str, list[float]]) -> str:
    """A finished run whose session, not the run, recorded the environment."""
    store = open_store(path)
    start = time.time() - 60
    session_id, run_id = uuid.uuid4().hex, uuid.uuid4().hex
    store.add_session(
        {"id": session_id, "kind": "kernel", "started": start, "host": "test", "pid": 1}
    )
    store.set_session_env(session_id, store.put_blob(json.dumps(ENVIRONMENT).encode()))
    store.create_run(
        {
            "id": run_id,
            "name": name,
            "status": "finished",
            "start_time": start,
            "end_time": start + 30,
            "session_id": session_id,
        },
        "views",
        {"lr": "0.1"},
        {"owner": "ana"},
    )
    for key, values in metrics.items():
        points = [(key, float(v), i, start + i * 1e-4, None) for i, v in enumerate(values)]
        store.write(lambda conn, p=points: store.write_batch(conn, run_id, {}, {}, p))
    return run_id


async def api(jp_fetch: Any, *path: str, **params: Any) -> Any:
    response = await jp_fetch("nbtrack", "api", *path, params=params)
    return json.loads(response.body)


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def synced(widget: Any, trait: str) -> Any:
    """A widget's trait as the front end receives it: its state, through strict JSON."""
    return json.loads(json.dumps(widget.get_state()[trait], allow_nan=False))


async def test_server_widgets_and_cli_give_the_same_numbers_nan_and_infinities_included(
    jp_fetch: Any, path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a run with a metric holding NaN, +inf and -inf, and another to compare it with
    rid = make_run(path, "odd", {"odd": ODD, "loss": [0.5, 0.25]})
    other = make_run(path, "plain", {"odd": [1.0], "loss": [0.75]})
    expected = {"latest": "-Infinity", "min": "-Infinity", "max": "Infinity", "step": 4, "count": 5}

    # When the sidebar's API, the widgets and the CLI read it
    listed = next(r for r in (await api(jp_fetch, "runs"))["runs"] if r["id"] == rid)
    detail = await api(jp_fetch, "runs", rid)
    series = await api(jp_fetch, "runs", rid, "metrics", key="odd")
    compared = await api(jp_fetch, "compare", runs=f"{rid},{other}")
    shown = cli(capsys, "--store", str(path), "show", rid, "--json")
    cli_series = cli(capsys, "--store", str(path), "show", rid, "--metric", "odd", "--json")
    listed_by_cli = next(
        r
        for r in cli(capsys, "--store", str(path), "runs", "--format", "json")["runs"]
        if r["id"] == rid
    )
    view = run_view(rid, store=path)
    table = runs_table(store=path)
    table.visible = ["name", "metrics.odd", "metrics.odd.min", "metrics.odd.max", "metrics.loss"]
    sent: list[dict[str, Any]] = []
    table.send = lambda content, buffers=None: sent.append(content)
    table._on_msg(table, {"type": "page", "offset": 0, "limit": 10, "gen": table.gen}, [])
    row = next(r for r in sent[0]["rows"] if r["id"] == rid)
    side_by_side = compare([rid, other], store=path)

    # Then every view holds the same numbers, spelled "NaN" / "Infinity" / "-Infinity"
    latest = {"loss": 0.25, "odd": "-Infinity"}
    assert (
        listed["metrics"]
        == detail["metrics"]
        == shown["metrics"]
        == listed_by_cli["metrics"]
        == latest
    )
    assert detail["metric_summary"]["odd"] == shown["metric_summary"]["odd"] == expected
    assert {
        m["key"]: {k: v for k, v in m.items() if k != "key"} for m in synced(view, "metrics")
    } == detail["metric_summary"]
    assert row["cells"][1:] == ["-Infinity", "-Infinity", "Infinity", 0.25]
    assert series["points"] == cli_series["points"]
    assert [p["value"] for p in series["points"]] == [1.5, "NaN", "Infinity", 2.0, "-Infinity"]
    odd_row = next(r for r in compared["metrics"] if r["key"] == "odd")
    assert odd_row["values"][0] == {"min": "-Infinity", "max": "Infinity", "last": "-Infinity"}
    widget_row = next(
        r for r in synced(side_by_side, "rows") if r["section"] == "metrics" and r["key"] == "odd"
    )
    assert widget_row["values"] == ["-Infinity", 1.0]


async def test_server_widgets_and_cli_give_the_same_downsampled_series_of_100000_points(
    jp_fetch: Any, path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a run with a 100,000-point metric: a random walk with a spike, a dip and a NaN
    walk = np.cumsum(np.random.default_rng(7).normal(size=100_000))
    walk[31_337], walk[77_777], walk[5] = 1e4, -1e4, math.nan
    rid = make_run(path, "long", {"big": walk.tolist(), "small": [3.0, 2.0]})

    # When the sidebar's API, the CLI, the chart widget and the run view draw it
    served = await api(jp_fetch, "runs", rid, "metrics", key="big", max_points=str(DEFAULT_POINTS))
    shown = cli(
        capsys,
        "--store",
        str(path),
        "show",
        rid[:8],
        "--metric",
        "big",
        "--max-points",
        str(DEFAULT_POINTS),
        "--json",
    )
    drawn = [
        r
        for r in synced(chart(rid, "big", store=path), "spec")["data"]["values"]
        if r["metric"] == "big"
    ]
    in_view = [  # the run view draws one small chart per metric
        row
        for spec in synced(run_view(rid, store=path), "charts")
        for row in spec["data"]["values"]
    ]

    # Then all four hold the very same points, at most max_points, extremes kept
    points = [(p["step"], p["value"]) for p in served["points"]]
    assert served["total"] == 100_000 and served["downsampled"]
    assert 1000 < len(points) <= DEFAULT_POINTS
    assert [(p["step"], p["value"]) for p in shown["points"]] == points
    assert [(r["x"], r["value"]) for r in drawn] == points
    assert [(r["x"], r["value"]) for r in in_view if r["metric"] == "big"] == points
    steps = {s for s, _ in points}
    assert {0, 31_337, 77_777, 99_999} <= steps and 5 not in steps


async def test_every_view_falls_back_to_the_sessions_environment(
    jp_fetch: Any, path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a run that recorded no environment of its own, in a session that did
    rid = make_run(path, "env", {"loss": [1.0]})
    # When the API, the CLI and the run view show it
    detail = await api(jp_fetch, "runs", rid)
    shown = cli(capsys, "--store", str(path), "show", rid, "--json")
    view = run_view(rid, store=path)
    # Then each shows the session's environment
    assert detail["environment"] == shown["environment"] == ENVIRONMENT
    assert synced(view, "environment")["rows"] == [  # as a person reads it
        {"label": "Python", "value": "3.11.4"},
        {"label": "Platform", "value": "linux"},
    ]


def test_numbers_are_made_json_safe_one_way() -> None:
    assert [json_number(v) for v in (math.nan, math.inf, -math.inf, 0.5, 3, None, "x")] == [
        "NaN",
        "Infinity",
        "-Infinity",
        0.5,
        3,
        None,
        "x",
    ]
    assert jsonable({"a": [math.inf, {"b": (math.nan,)}]}) == {"a": ["Infinity", {"b": ["NaN"]}]}


def test_widget_js_reads_the_numbers_the_kernel_sends(tmp_path: Path) -> None:
    import shutil
    import subprocess

    node = shutil.which("node")
    if node is None:
        pytest.skip("no node to run the widgets' JS")
    dom = Path(__file__).resolve().parents[2] / "widgets-js" / "src" / "dom.js"
    script = (
        f"import {{ toNumber, formatNumber }} from {json.dumps(dom.as_uri())};\n"
        "const values = ['NaN', 'Infinity', '-Infinity', 0.5, 'lr'];\n"
        "console.log(JSON.stringify([values.map((v) => String(toNumber(v))), values.map(formatNumber)]));\n"
    )
    (tmp_path / "check.mjs").write_text(script)
    out = subprocess.run(
        [node, str(tmp_path / "check.mjs")], capture_output=True, text=True, check=True, timeout=60
    )
    parsed, shown = json.loads(out.stdout)
    assert parsed == ["NaN", "Infinity", "-Infinity", "0.5", "null"]
    assert shown == ["NaN", "Infinity", "-Infinity", "0.5", "lr"]
