"""``POST /runs/<id>/replay`` with ``{"env": "recorded"}``: the environment's steps stream
before the cells, and the report says where the replay ran (the sidebar's Reproduce button)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nbtrack.capture.environment import capture_environment, environment_bytes
from tests.server.test_server import (  # noqa: F401 - fixtures
    jp_server_config,
    make_run,
    no_store_from_env,
    store,
)

pytest_plugins = ["pytest_jupyter.jupyter_server"]
# a cold environment build installs dozens of packages from the index: allow for a slow one
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture
def env_cache(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The cache of recreated environments shared with tests/reproduce/test_replay_env.py."""
    path = Path(request.config.cache.mkdir("nbtrack-envs"))
    monkeypatch.setenv("NBTRACK_ENV_CACHE", str(path))
    return path


def events_of(response: Any) -> list[dict[str, Any]]:
    return [json.loads(line) for line in response.body.decode().splitlines() if line.strip()]


async def test_reproduce_streams_environment_steps_then_cells_then_the_report(
    jp_fetch: Any,
    store: Any,  # noqa: F811 - the fixture
    env_cache: Path,
) -> None:
    # Given a run recorded with idna 3.6 whose cells import idna
    run_id = make_run(store, cells=["import idna", "v = idna.__version__"])
    env = capture_environment()
    env["packages"]["idna"] = "3.6"
    store.update_run(run_id, env_hash=store.put_blob(environment_bytes(env)))
    # When the sidebar asks to reproduce it in its recorded environment
    response = await jp_fetch(
        "nbtrack",
        "api",
        "runs",
        run_id,
        "replay",
        method="POST",
        body=json.dumps({"env": "recorded"}),
        request_timeout=600,
    )
    # Then environment steps come first, each with a phase, a count and a text
    events = events_of(response)
    kinds = [e["event"] for e in events]
    assert kinds[0] == "env" and kinds[-1] == "result", kinds
    first_cell = kinds.index("progress")
    assert "env" not in kinds[first_cell:]
    steps = [e for e in events if e["event"] == "env"]
    assert all(set(e) == {"event", "phase", "done", "total", "text"} for e in steps)
    phases = [e["phase"] for e in steps]
    assert phases[0] == "resolve" and phases[-1] in ("ready", "cached")
    assert set(phases) <= {"resolve", "create", "install", "kernel", "ready", "cached"}
    if phases[-1] == "ready":  # built now: one event per package pip collected
        assert any(e["text"] == "installing idna==3.6" for e in steps)
    # ... then the cells, then a report that says where the replay ran
    assert [(e["done"], e["total"]) for e in events if e["event"] == "progress"] == [(1, 2), (2, 2)]
    environment = events[-1]["report"]["environment"]
    assert environment["mode"] == "recorded"
    assert environment["cached"] is (phases[-1] == "cached")
    assert isinstance(environment["python"], str) and environment["python"]
    assert environment["installed"]["idna"] == "3.6"
    assert all(set(u) >= {"name", "recorded", "reason"} for u in environment["unmatched"])


async def test_replay_in_the_current_environment_reports_it_and_a_bad_env_is_refused(
    jp_fetch: Any,
    store: Any,  # noqa: F811 - the fixture
) -> None:
    run_id = make_run(store, cells=["a = 1"])
    response = await jp_fetch(
        "nbtrack", "api", "runs", run_id, "replay", method="POST", body="", request_timeout=240
    )
    events = events_of(response)
    assert not [e for e in events if e["event"] == "env"]
    assert events[-1]["report"]["environment"]["mode"] == "current"
    assert events[-1]["report"]["environment"]["cached"] is False
    bad = await jp_fetch(
        "nbtrack",
        "api",
        "runs",
        run_id,
        "replay",
        method="POST",
        body=json.dumps({"env": "docker"}),
        raise_error=False,
    )
    assert (
        bad.code == 400
        and "env must be one of current, recorded" in json.loads(bad.body)["message"]
    )
