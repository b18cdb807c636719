"""``GET /compare`` serves the compare widget's charts and both code diffs (the runs' bodies and
their whole histories), through a real Jupyter server and a real store."""

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
def runs(jp_root_dir: Path) -> list[str]:
    store = open_store(jp_root_dir / ".nbtrack")
    ids = [
        make_run(
            store,
            name=f"sgd-alpha-{alpha}",
            start=1000.0 + i,
            params={"alpha": alpha},
            metrics={"loss": [1.0 / (s + 1 + i) for s in range(12)], "acc": [0.9 - i / 10]},
            cells=["import numpy as np", f"alpha = {alpha}\nfit(alpha)"],
        )
        for i, alpha in enumerate(["3.0", "0.01", "0.0001"])
    ]
    store.close()
    return ids


async def compare(jp_fetch: Any, ids: list[str], **params: str) -> Any:
    response = await jp_fetch("nbtrack", "api", "compare", params={"runs": ",".join(ids), **params})
    return json.loads(response.body)


async def test_compare_serves_the_widgets_charts_on_the_metric_with_most_steps(
    jp_fetch: Any, runs: list[str]
) -> None:
    # When the sidebar compares three runs without choosing what the charts show
    data = await compare(jp_fetch, runs)
    charts = data["charts"]
    # Then the overlay shows loss (12 steps, acc has one), alpha against loss in the scatter
    assert charts["options"] == {
        "metrics": ["acc", "loss"],
        "fields": ["params.alpha", "metrics.acc", "metrics.loss"],
        "metric": "loss",
        "x": "params.alpha",
        "y": "metrics.loss",
    }
    assert charts["overlay"]["title"]["text"] == "loss"
    assert len(charts["overlay"]["data"]["values"]) == 36
    assert charts["scatter"]["encoding"]["x"]["scale"]["type"] == "log"
    assert "params.alpha (log)" in charts["parallel"]["layer"][0]["encoding"]["x"]["sort"]
    assert charts["messages"] == {}
    # And the code diff of the first two is of their bodies, with the whole history beside it
    (diff,) = data["code"]
    assert [c["kind"] for c in diff["cells"]] == ["same", "changed"]
    assert [c["kind"] for c in diff["history"]] == ["same", "changed"]


async def test_compare_draws_the_chosen_metric_and_fields(jp_fetch: Any, runs: list[str]) -> None:
    data = await compare(jp_fetch, runs, metric="acc", x="metrics.loss", y="metrics.acc")
    charts = data["charts"]
    assert charts["options"]["metric"] == "acc" and charts["overlay"]["title"]["text"] == "acc"
    # one point a run: the step axis gets room around it
    assert charts["overlay"]["encoding"]["x"]["scale"]["domain"] == [-1.0, 1.0]
    assert charts["scatter"]["encoding"]["x"]["title"] == "metrics.loss"


async def test_a_chart_field_the_runs_do_not_have_is_a_400_naming_the_choices(
    jp_fetch: Any, runs: list[str]
) -> None:
    with pytest.raises(HTTPClientError) as info:
        await compare(jp_fetch, runs, metric="f1")
    assert info.value.code == 400
    message = json.loads(info.value.response.body)["message"]
    assert "metric 'f1'" in message and "acc, loss" in message
